"""Unit tests of the rooms area: playback clock, skip votes, room codes."""
