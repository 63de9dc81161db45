"""Live alerts: consumes booking events, stores every notification, pushes to online users."""

__all__ = ["create_faust_app"]


def __getattr__(name: str) -> object:
    if name == "create_faust_app":
        from notification_service.app import create_faust_app

        return create_faust_app
    raise AttributeError(name)
