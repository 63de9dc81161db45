"""Conversations and messages: direct, project, session and group conversations, live on the
user's socket and told to whoever is away through the notification service (docs/MESSAGES.md)."""
