"""Listening rooms: the rooms API, the room socket, tracks, the live ingest."""
