"""Unit tests of the notification service's pure rules."""
