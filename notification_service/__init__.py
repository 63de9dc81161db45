"""Live alerts: consumes booking events, stores every notification, pushes to online users.

The process starts from ``notification_service.app.create_faust_app`` (``downbeat notifications``).
"""

__all__: list[str] = []
