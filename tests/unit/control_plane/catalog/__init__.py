"""Unit tests of the catalog area: the refund policy."""
