"""Unit tests of the control plane's kits: request gate, token verifier, realtime fan-out."""
