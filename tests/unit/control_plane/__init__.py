"""Unit tests of the control plane, by area and kit."""
