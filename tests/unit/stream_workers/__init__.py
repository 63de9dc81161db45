"""Unit tests of the stream worker's live engine."""
