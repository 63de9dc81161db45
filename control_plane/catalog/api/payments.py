"""Seat payment endpoints: the provider's webhook, a payment of the caller, and the simulated
provider's hosted checkout.

They live in the catalog because a seat payment confirms a booking: the payments area holds
the payment tables and the provider port and knows nothing of bookings.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from flask_jwt_extended import jwt_required

from control_plane.accounts.auth import current_user
from control_plane.catalog.queries import payment_of
from control_plane.catalog.services.bookings import confirm_payment
from control_plane.catalog.services.checkout import pay_on_the_simulated_page
from control_plane.catalog.services.refusals import CatalogRefused
from control_plane.kits.extensions import db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.problems import ApiProblem, refused_problem
from control_plane.payments.models import Payment
from control_plane.payments.services.factory import current_gateway
from control_plane.payments.services.gateway import WebhookDataMissing, WebhookInvalid, payment_succeeded

__all__ = ["bp", "own_payment"]

bp = Blueprint("payments", __name__, url_prefix="/api")


def own_payment(provider_ref: str) -> Payment:
    found = payment_of(db.session, provider_ref, current_user().id)
    if found is None:
        raise ApiProblem(404, "payment-not-found", "No such payment of yours")
    return found[0]


@api_route(
    bp,
    "/payments/webhook",
    "POST",
    "Provider webhook (signed)",
    auth=False,
    responses={200: "Processed", 400: "Bad signature or payload"},
)
def webhook() -> Response:
    gateway = current_gateway()
    try:
        payload = gateway.parse_webhook(request.get_data(), request.headers.get("Downbeat-Signature"))
        succeeded = payment_succeeded(payload)
    except WebhookDataMissing:
        raise ApiProblem(400, "invalid-webhook", "Webhook data lacks ref, amount or currency") from None
    except (WebhookInvalid, ValueError) as exc:
        raise ApiProblem(400, "invalid-webhook", f"Webhook refused: {exc}") from None
    if succeeded is None:
        return jsonify({"received": True, "handled": False})
    try:
        confirm_payment(db.session, succeeded.ref, succeeded.amount, succeeded.currency, gateway)
    except CatalogRefused as refused:
        raise refused_problem(refused) from None
    db.session.commit()
    return jsonify({"received": True, "handled": True})


@api_route(bp, "/payments/<ref>", "GET", "A payment of the caller", responses={200: "OK", 404: "Not found"})
@jwt_required()
def get_payment(ref: str) -> Response:
    return jsonify(own_payment(ref).to_json())


@api_route(
    bp,
    "/payments/<ref>/simulated-checkout",
    "POST",
    "Simulated provider only: the customer pays on the hosted page; confirmation follows by webhook",
    responses={202: "Payment submitted", 404: "Not found", 409: "Not pending"},
)
@jwt_required()
def simulated_checkout(ref: str) -> tuple[Response, int]:
    try:
        pay_on_the_simulated_page(own_payment(ref), current_gateway())
    except CatalogRefused as refused:
        raise refused_problem(refused) from None
    return jsonify({"status": "processing", "detail": "The provider confirms the payment in a moment"}), 202
