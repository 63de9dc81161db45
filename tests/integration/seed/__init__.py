"""The demo data the stack is seeded with."""
