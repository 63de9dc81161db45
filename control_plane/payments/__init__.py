"""The payments area: payment and refund tables and the payment provider port with its adapters.
Seat payments' routes are the catalog's (docs/ARCHITECTURE.md says why)."""

__all__: list[str] = []
