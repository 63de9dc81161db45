"""Accounts through the HTTP API: registration, tokens, logins, abuse limits."""
