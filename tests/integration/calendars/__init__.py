"""Calendars through the HTTP API: the .ics download, the feed, the week view."""
