"""The accounts area: registration, login, tokens, roles, the account page's API and who is
calling (``auth``)."""

__all__: list[str] = []
