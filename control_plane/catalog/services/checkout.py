"""The simulated provider's hosted checkout of a seat: the customer pays a pending payment;
the provider confirms it by webhook a moment later (``bookings.confirm_payment``)."""

from __future__ import annotations

from control_plane.catalog.services.refusals import CatalogRefused
from control_plane.payments.models import Payment
from control_plane.payments.services.gateway import PaymentGateway, SimulatedGateway

__all__ = ["pay_on_the_simulated_page"]

_NOT_PENDING = {
    "succeeded": "This payment has already gone through",
    "failed": "This payment failed; book again to get a new payment step",
    "cancelled": "This payment was called off (the booking was cancelled or the hold ran out); nothing is charged",
}


def pay_on_the_simulated_page(payment: Payment, gateway: PaymentGateway) -> None:
    """Only a pending payment can be paid, and only where the simulated provider is in use."""
    if not isinstance(gateway, SimulatedGateway):
        raise CatalogRefused(404, "not-simulated", "Checkout happens on the provider's own page")
    if payment.status != "pending":
        raise CatalogRefused(409, "payment-not-pending", _NOT_PENDING.get(payment.status, "This payment is closed"))
    gateway.customer_paid(payment.provider_ref, payment.amount, payment.currency)
