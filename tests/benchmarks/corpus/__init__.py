"""Generated evaluation corpus (see generate.py)."""
