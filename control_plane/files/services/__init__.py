"""The files area's use cases: storing versions, comments, resumable uploads, deliverables
and the analysis of audio versions. No Flask: routes hand in the storage adapter."""
