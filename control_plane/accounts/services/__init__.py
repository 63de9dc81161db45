"""The accounts area's use cases: accounts, credentials, logins, password hashing."""

__all__: list[str] = []
