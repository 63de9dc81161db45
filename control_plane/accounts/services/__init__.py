"""The accounts area's use cases: accounts, credentials, logins, password hashing, and the role
checks every area's use cases make."""

__all__: list[str] = []
