"""What the musicians area accepts from clients: request bodies and query strings (they also
feed /api/openapi.json), and the formats they check: times of day ("HH:MM") and portfolio links.

The formats live here, below services, because the bodies validate with them and the use cases
read stored values with them too (availability is stored in the "HH:MM" it was sent in).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from control_plane.kits.currencies import Currency
from control_plane.kits.http.pagination import MAX_CURSOR
from control_plane.kits.http.validation import (
    MAX_ROW_ID,
    ONE_LINE,
    TEXT,
    FieldRuleError,
    Moment,
    ServiceDate,
    ZoneName,
)

__all__ = [
    "DAY_MINUTES",
    "DEFAULT_RADIUS_KM",
    "PORTFOLIO_HOSTS",
    "AvailabilityBody",
    "CheckQuery",
    "DatedException",
    "EmptyBody",
    "Label",
    "Location",
    "Money",
    "PortfolioKind",
    "ProfileBody",
    "ProjectBody",
    "ProjectQuery",
    "Rate",
    "ReasonBody",
    "RequestBody",
    "RequestQuery",
    "RescheduleBody",
    "ReviewBody",
    "ReviewQuery",
    "SearchQuery",
    "SlotsQuery",
    "TimeRange",
    "Title",
    "Window",
    "format_hhmm",
    "parse_hhmm",
    "portfolio_kind",
]

# --- times of day ------------------------------------------------------------------------

DAY_MINUTES = 24 * 60


def parse_hhmm(value: str, *, allow_end_of_day: bool = False) -> int:
    """``"09:30"`` -> 570 minutes after midnight; ``"24:00"`` only as an end."""
    hours, sep, minutes = value.partition(":")
    # ASCII digits only: str.isdigit() also takes Arabic-Indic digits and "²".
    digits = (hours + minutes).isascii() and hours.isdigit() and minutes.isdigit()
    if not (sep and len(hours) == 2 and len(minutes) == 2 and digits):
        raise ValueError('time must look like "HH:MM"')
    total = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or total > DAY_MINUTES or (total == DAY_MINUTES and not allow_end_of_day):
        raise ValueError("time must be between 00:00 and 23:59 (24:00 only as an end)")
    return total


def format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# --- portfolio links ---------------------------------------------------------------------
# Portfolio links must point at the three places musicians keep their work: Spotify
# (``open.spotify.com``), SoundCloud (``soundcloud.com``, its ``m.``/``on.`` hosts) and Bandcamp
# (``bandcamp.com`` and every ``<artist>.bandcamp.com``), over https, without credentials or
# ports, and with a path (the front page of a service is nobody's portfolio).

PortfolioKind = Literal["spotify", "soundcloud", "bandcamp"]
PORTFOLIO_HOSTS = "open.spotify.com, soundcloud.com or <artist>.bandcamp.com"
_EXACT_HOSTS: dict[str, PortfolioKind] = {
    "open.spotify.com": "spotify",
    "play.spotify.com": "spotify",
    "soundcloud.com": "soundcloud",
    "www.soundcloud.com": "soundcloud",
    "m.soundcloud.com": "soundcloud",
    "on.soundcloud.com": "soundcloud",
    "bandcamp.com": "bandcamp",
    "www.bandcamp.com": "bandcamp",
}


def portfolio_kind(url: str) -> PortfolioKind:
    """Which service ``url`` belongs to; ``ValueError`` with a message a person can act on."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError("is not a valid URL") from None
    if parts.scheme != "https":
        raise ValueError("must start with https://")
    host = (parts.hostname or "").rstrip(".").casefold()
    if parts.username or parts.password or port is not None:
        raise ValueError("must not carry a user name, password or port")
    kind = _EXACT_HOSTS.get(host)
    if kind is None and host.endswith(".bandcamp.com") and _is_label(host.removesuffix(".bandcamp.com")):
        kind = "bandcamp"
    if kind is None:
        raise ValueError(f"must be a Spotify, SoundCloud or Bandcamp link ({PORTFOLIO_HOSTS}), not {host or 'this'}")
    if kind != "bandcamp" and parts.path.strip("/") == "":
        raise ValueError(f"must point at your page on {host}, not its front page")
    return kind


def _is_label(name: str) -> bool:
    return 0 < len(name) <= 63 and all(ch.isalnum() or ch == "-" for ch in name) and "." not in name


# --- field types and validators ----------------------------------------------------------

# Titles, places and instrument names are one line: they show in lists, e-mails and calendar summaries.
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=ONE_LINE)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=ONE_LINE)]


def _dedupe(items: list[str]) -> list[str]:
    """Case-insensitive duplicates go; the first spelling stays."""
    kept: dict[str, str] = {}
    for item in items:
        kept.setdefault(item.casefold(), item)
    return list(kept.values())


def _start_time(value: str | None) -> str | None:
    if value is not None:
        parse_hhmm(value)
    return value


def _end_time(value: str | None) -> str | None:
    if value is not None:
        parse_hhmm(value, allow_end_of_day=True)
    return value


def _portfolio_link(url: str) -> str:
    portfolio_kind(url)  # ValueError says what is wrong; pydantic names the item (links.2)
    return url


PortfolioLink = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), AfterValidator(_portfolio_link)
]


class Money(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: int = Field(ge=0, le=100_000_000, strict=True)
    currency: Currency


class TimeRange(BaseModel):
    MAX_SPAN: ClassVar[timedelta] = timedelta(days=31)
    starts_at: Moment
    ends_at: Moment

    @model_validator(mode="after")
    def _order(self) -> Any:
        if self.ends_at <= self.starts_at:
            raise FieldRuleError("ends_at", "must be after the start")
        if self.ends_at - self.starts_at > self.MAX_SPAN:
            raise FieldRuleError("ends_at", f"it may last {self.MAX_SPAN.days} days at most")
        return self


class EmptyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- availability ------------------------------------------------------------------------


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weekday: int = Field(ge=0, le=6, strict=True, description="0 = Monday ... 6 = Sunday")
    start: str = Field(description='"HH:MM" in the musician\'s time zone')
    end: str = Field(description='"HH:MM"; "24:00" is the end of the day')

    _start = field_validator("start")(_start_time)
    _end = field_validator("end")(_end_time)

    @model_validator(mode="after")
    def _times(self) -> Any:
        if parse_hhmm(self.end, allow_end_of_day=True) <= parse_hhmm(self.start):
            raise ValueError("end must be after start")
        return self


class DatedException(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: ServiceDate
    available: bool
    start: str | None = None
    end: str | None = None

    _start = field_validator("start")(_start_time)
    _end = field_validator("end")(_end_time)

    @model_validator(mode="after")
    def _times(self) -> Any:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end, or neither for the whole day")
        if (
            self.start is not None
            and self.end is not None
            and parse_hhmm(self.end, allow_end_of_day=True) <= parse_hhmm(self.start)
        ):
            raise ValueError("end must be after start")
        return self


class AvailabilityBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timezone: ZoneName | None = Field(default=None, description="IANA zone; omitted: the account's time zone")
    weekly: list[Window] = Field(default_factory=list, max_length=100)
    exceptions: list[DatedException] = Field(default_factory=list, max_length=400)


# --- projects and requests ---------------------------------------------------------------


class ProjectBody(TimeRange):
    model_config = ConfigDict(extra="forbid")
    MAX_SPAN: ClassVar[timedelta] = timedelta(days=366)  # a project may be a tour
    title: Title
    description: str = Field(default="", max_length=10_000, pattern=TEXT)
    location: str = Field(default="", max_length=200, pattern=ONE_LINE)
    instruments_needed: list[Label] = Field(default_factory=list, max_length=30)
    timezone: ZoneName | None = Field(default=None, description="IANA zone; omitted: the owner's time zone")

    _unique = field_validator("instruments_needed")(_dedupe)


class ProjectQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=MAX_CURSOR)


class RequestBody(TimeRange):
    model_config = ConfigDict(extra="forbid")
    musician_id: int = Field(ge=1, le=MAX_ROW_ID, strict=True, description="The musician's user id")
    instrument: Label
    offer: Money
    message: str = Field(default="", max_length=2000, pattern=TEXT)


class ReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500, pattern=TEXT)


class RescheduleBody(TimeRange):
    model_config = ConfigDict(extra="forbid")
    offer: Money | None = None


class RequestQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["musician", "requester"] | None = None
    status: Literal["pending", "accepted", "declined", "cancelled", "expired"] | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: int | None = Field(default=None, ge=0, le=2**62)


# --- profiles and reviews ----------------------------------------------------------------


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")
    city: str = Field(default="", max_length=120, pattern=ONE_LINE)
    lat: float | None = Field(default=None, ge=-90, le=90, description="WGS84 degrees; give lat and lon together")
    lon: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both_or_neither(self) -> Location:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give lat and lon together, or neither")
        return self


class Rate(Money):
    per: Literal["hour", "session"] = "session"


class ProfileBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instruments: list[Label] = Field(default_factory=list, max_length=20)
    genres: list[Label] = Field(default_factory=list, max_length=20)
    bio: str = Field(default="", max_length=5000, pattern=TEXT)
    location: Location = Field(default_factory=Location)
    rate: Rate | None = Field(default=None, description="amount in minor units (2500 = 25.00 EUR)")
    links: list[PortfolioLink] = Field(
        default_factory=list, max_length=10, description="Spotify, SoundCloud or Bandcamp pages (https)"
    )
    photo_url: str | None = Field(default=None, max_length=500, description="https URL of a picture")

    _unique = field_validator("instruments", "genres")(_dedupe)

    @field_validator("links")
    @classmethod
    def _same_link_once(cls, links: list[str]) -> list[str]:
        return list(dict.fromkeys(links))

    @field_validator("photo_url")
    @classmethod
    def _photo(cls, url: str | None) -> str | None:
        if url is None or url.strip() == "":
            return None
        url = url.strip()
        if not url.startswith("https://") or any(ch.isspace() for ch in url) or len(url) <= len("https://"):
            raise ValueError("must be an https:// URL of a picture")
        return url


class ReviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stars: int = Field(ge=1, le=5)
    text: str = Field(default="", max_length=2000, pattern=TEXT)


class ReviewQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=20, ge=1, le=100)
    cursor: int | None = Field(default=None, ge=1, description="id of the last review seen")


# --- search and free time ----------------------------------------------------------------

DEFAULT_RADIUS_KM = 50.0


class SearchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instrument: str | None = Field(default=None, max_length=60)
    genre: str | None = Field(default=None, max_length=60)
    near: str | None = Field(default=None, max_length=60, description='"lat,lon" in WGS84 degrees')
    radius_km: float | None = Field(
        default=None, gt=0, le=20_000, description=f"with near; default {DEFAULT_RADIUS_KM:g}"
    )
    max_rate: int | None = Field(default=None, ge=0, le=100_000_000, description="minor units, the musician's currency")
    currency: Currency | None = Field(default=None, description="only rates in this currency")
    per: Literal["hour", "session"] | None = None
    available_from: Moment | None = None
    available_to: Moment | None = None
    q: str | None = Field(default=None, max_length=100, description="words matched as prefixes in name, bio, genres")
    sort: Literal["rating", "distance", "rate", "name"] | None = Field(
        default=None, description="default: distance with near, otherwise rating"
    )
    limit: int = Field(default=20, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=500)


class CheckQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    starts_at: Moment
    ends_at: Moment


class SlotsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    range_from: Moment = Field(alias="from")
    range_to: Moment = Field(alias="to")
    min_minutes: int = Field(default=0, ge=0, le=24 * 60)
