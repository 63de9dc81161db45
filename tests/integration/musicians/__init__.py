"""Musicians through the HTTP API: profiles, search, availability, projects and requests."""
