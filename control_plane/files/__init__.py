"""Project files: charts, stems and takes with versions, comments pinned to a moment or a
page, resumable uploads and deliverables (docs/FILES.md)."""
