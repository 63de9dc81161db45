"""What the catalog accepts from clients: session fields and edits, list queries, booking and
cancellation bodies (pydantic, strict: the contract's numbers are JSON numbers)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from control_plane.kits.currencies import Currency
from control_plane.kits.http.pagination import MAX_CURSOR
from control_plane.kits.http.validation import MAX_ROW_ID, ONE_LINE, TEXT, FieldRuleError, Moment, ZoneName

__all__ = [
    "TERMS",
    "BookingBody",
    "BookingQuery",
    "CancelBody",
    "PageQuery",
    "Price",
    "RefundPolicyFields",
    "SessionFields",
    "SessionPatch",
    "SessionQuery",
]

# One line of text: a title or place shows in lists, e-mails and calendar summaries.
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=ONE_LINE)]
Line = Annotated[str, StringConstraints(max_length=200, pattern=ONE_LINE)]


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: int = Field(ge=0, le=10_000_000, strict=True)
    currency: Currency


class RefundPolicyFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full_until_hours: int = Field(default=48, ge=0, le=24 * 365, strict=True)
    partial_until_hours: int = Field(default=24, ge=0, le=24 * 365, strict=True)
    partial_percent: int = Field(default=50, ge=0, le=100, strict=True)

    @model_validator(mode="after")
    def _order(self) -> RefundPolicyFields:
        if self.partial_until_hours > self.full_until_hours:
            # Shown at the field the facilitator filled in (the model is the body's refund_policy).
            raise FieldRuleError(
                "refund_policy.partial_until_hours", "must not be more than the hours of the full refund"
            )
        return self


class SessionFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title
    description: str = Field(default="", max_length=10_000, pattern=TEXT)
    kind: Literal["session", "retreat"] = "session"
    starts_at: Moment
    ends_at: Moment
    timezone: ZoneName = "UTC"
    capacity: int = Field(ge=1, le=100_000, strict=True)
    price: Price = Price(amount=0, currency="EUR")
    location: Line = ""
    status: Literal["draft", "published"] = "draft"
    refund_policy: RefundPolicyFields = RefundPolicyFields()

    @model_validator(mode="after")
    def _order(self) -> SessionFields:
        if self.ends_at <= self.starts_at:
            raise FieldRuleError("ends_at", "must be after the start")
        return self


class SessionPatch(BaseModel):
    """Any subset of the fields. Time, place of time (zone), kind, price and refund policy are
    the terms people booked on: they change only while nobody holds a place."""

    model_config = ConfigDict(extra="forbid")
    title: Title | None = None
    description: str | None = Field(default=None, max_length=10_000, pattern=TEXT)
    capacity: int | None = Field(default=None, ge=1, le=100_000, strict=True)
    location: Line | None = None
    status: Literal["draft", "published"] | None = None
    kind: Literal["session", "retreat"] | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    timezone: ZoneName | None = None
    price: Price | None = None
    refund_policy: RefundPolicyFields | None = None


TERMS = ("kind", "starts_at", "ends_at", "timezone", "price", "refund_policy")


class SessionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str | None = Field(default=None, max_length=100)
    kind: Literal["session", "retreat"] | None = None
    status: Literal["draft", "published", "cancelled"] | None = None
    from_: Moment | None = Field(default=None, alias="from")
    to: Moment | None = None
    mine: bool = False
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=MAX_CURSOR)


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=100, ge=1, le=500)
    cursor: int | None = Field(default=None, ge=0, le=2**62, description="the next_cursor of the previous page")


class BookingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Strict: "13" is not a session id; the contract's numbers are JSON numbers.
    session_id: int = Field(ge=1, le=MAX_ROW_ID, strict=True)
    seats: int = Field(default=1, ge=1, le=20, strict=True)
    notes: str = Field(default="", max_length=2000, pattern=TEXT)
    waitlist: bool = Field(default=False, strict=True)


class BookingQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    upcoming: bool | None = None
    when: Literal["upcoming", "past", "all"] = "all"
    limit: int = Field(default=100, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=MAX_CURSOR)


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500, pattern=TEXT)
