"""The rooms area: listening rooms joined by a 6-character code, their tracks and queue, playback
in sync, presence, live-audio signalling and the room socket."""

__all__: list[str] = []
