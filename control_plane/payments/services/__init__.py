"""The payment provider port (``gateway.PaymentGateway``), its simulated adapter, and the
adapter built from settings (``factory``)."""

__all__: list[str] = []
