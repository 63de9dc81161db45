"""The notifications area: the control plane's side of the notification service (its inbox API,
the notification socket, the inbox and preference pages)."""

__all__: list[str] = []
