"""Live alerts: consumes booking, file and message events, stores every notification, pushes
to online users, and relays each message's durable live copy to its conversation's members.

The process starts from ``notification_service.app.create_faust_app`` (``downbeat notifications``).
"""

__all__: list[str] = []
