"""Unit tests of the shared runtime: settings, the supervisor."""
