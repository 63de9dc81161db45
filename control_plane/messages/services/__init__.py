"""Use cases of the messages area: (db, actor, command) → result or ``MessagesRefused``."""
