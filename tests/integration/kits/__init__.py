"""The control plane's kits end to end: the HTTP edge, OpenAPI, the outbox relay, doctor."""
