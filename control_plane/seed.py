"""Demo data for `downbeat up`: idempotent, so a restart finds the same accounts and room."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from control_plane.accounts.models import User
from control_plane.accounts.services.passwords import HASHING_KEY, PasswordHashing
from control_plane.app import create_app
from control_plane.catalog.models import CatalogSession
from control_plane.kits.db.types import utcnow
from control_plane.kits.extensions import db
from control_plane.messages.schemas import ConversationBody, MessageBody
from control_plane.messages.services.conversations import start_conversation
from control_plane.messages.services.posting import post_message
from control_plane.musicians.models import MusicianAvailability, MusicianProfile
from control_plane.musicians.schemas import AvailabilityBody
from control_plane.musicians.services.profiles import ProfileFields, save_profile
from control_plane.musicians.services.saved_availability import save_availability
from control_plane.rooms.models import Room, RoomMember
from control_plane.rooms.schemas import CreateRoom
from control_plane.rooms.services.rooms import create_room
from downbeat.settings import Settings

__all__ = ["DEMO_PASSWORD", "Demo", "demo_lines", "print_demo", "seed_demo"]

DEMO_PASSWORD = "downbeat-demo"  # noqa: S105 - printed for the local demo on purpose
DEMO_USERS = {
    "facilitator@downbeat.local": ("Fran Facilitator", ["facilitator", "creator"]),
    "user@downbeat.local": ("Uma User", ["user"]),
    "musician@downbeat.local": ("Milo Musician", ["musician"]),
    "producer@downbeat.local": ("Pia Producer", ["producer", "band_manager"]),
}
DEMO_SESSION = "Sunday Drum Circle"
DEMO_ROOM = "Demo Room"


@dataclass(frozen=True)
class Demo:
    session_id: int
    room_code: str


def _user(email: str, hasher: PasswordHashing) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        name, roles = DEMO_USERS[email]
        user = User(email=email, name=name, roles=roles, password_hash=hasher.hash(DEMO_PASSWORD))
        db.session.add(user)
        db.session.flush()
    return user


def _paid_retreat(owner: User) -> None:
    """A paid retreat shows the payment step (simulated provider) and the refund policy."""
    title = "Sound Bath Retreat"
    if db.session.scalar(select(CatalogSession.id).where(CatalogSession.title == title)) is not None:
        return
    start = (utcnow() + timedelta(days=21)).replace(hour=9, minute=0, second=0, microsecond=0)
    db.session.add(
        CatalogSession(
            owner_id=owner.id,
            title=title,
            description="Two days of gongs, bowls and silence in the countryside. Meals included.",
            kind="retreat",
            starts_at=start,
            ends_at=start + timedelta(days=2),
            timezone="Europe/Berlin",
            capacity=8,
            price_amount=12000,
            price_currency="EUR",
            location="Uckermark",
            status="published",
        )
    )


def _musician_profile(musician: User) -> None:
    """So the search page finds someone on a fresh stack."""
    if db.session.get(MusicianProfile, musician.id) is not None:
        return
    fields = ProfileFields(
        instruments=["Drums", "Percussion"],
        genres=["jazz", "funk", "afrobeat"],
        bio="Session drummer: tight pocket, brushes to breakbeats, sight-reads.",
        city="Berlin",
        lat=52.52,
        lon=13.405,
        rate_amount=6000,
        rate_currency="EUR",
        rate_per="hour",
        links=["https://milo.bandcamp.com/"],
        photo_url=None,
    )
    save_profile(db.session, musician, fields)


def _musician_availability(musician: User) -> None:
    """Every day 09:00 to 23:00 in Berlin, so the producer's first request on a fresh stack can
    be accepted (without availability every request is refused, by the rules of issue 3)."""
    if db.session.get(MusicianAvailability, musician.id) is not None:
        return
    every_day = [{"weekday": day, "start": "09:00", "end": "23:00"} for day in range(7)]
    command = AvailabilityBody.model_validate({"timezone": "Europe/Berlin", "weekly": every_day})
    save_availability(db.session, musician, command)


def _demo_conversation(producer: User, musician: User) -> None:
    """A first direct conversation, so /messages is not empty on a fresh stack. Idempotent:
    the pair has one conversation, and the fixed client_id makes the message once."""
    body = ConversationBody(kind="direct", member_ids=[musician.id])
    opened = start_conversation(db.session, producer, body)
    text = "Hi Milo! I have a funk EP coming up: are you free for drums in the next weeks? **Charts to follow.**"
    post_message(
        db.session,
        producer,
        opened.access.conversation.id,
        MessageBody(body=text, client_id="demo-welcome"),
        online=lambda _ids: set(),
    )


def seed_demo(settings: Settings) -> Demo:
    app = create_app(settings)
    with app.app_context():
        hasher: PasswordHashing = app.extensions[HASHING_KEY]  # the settings' cost profile, as sign-up uses
        users = {email: _user(email, hasher) for email in DEMO_USERS}
        facilitator = users["facilitator@downbeat.local"]
        listing = db.session.scalar(
            select(CatalogSession).where(
                CatalogSession.title == DEMO_SESSION, CatalogSession.owner_id == facilitator.id
            )
        )
        if listing is None:
            start = (utcnow() + timedelta(days=7)).replace(hour=17, minute=0, second=0, microsecond=0)
            listing = CatalogSession(
                owner_id=facilitator.id,
                title=DEMO_SESSION,
                description="An open drum circle for every level. Bring a drum or borrow one.",
                kind="session",
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                timezone="Europe/Berlin",
                capacity=12,
                location="Studio 3, Kreuzberg",
                status="published",
            )
            db.session.add(listing)
        _paid_retreat(facilitator)
        _musician_profile(users["musician@downbeat.local"])
        _musician_availability(users["musician@downbeat.local"])
        db.session.commit()
        _demo_conversation(users["producer@downbeat.local"], users["musician@downbeat.local"])
        db.session.commit()
        room = db.session.scalar(select(Room).where(Room.name == DEMO_ROOM, Room.host_id == facilitator.id))
        if room is None:
            room = create_room(db.session, facilitator.id, CreateRoom(name=DEMO_ROOM, allow_member_streams=True))
        for user in users.values():
            if db.session.get(RoomMember, (room.id, user.id)) is None:
                db.session.add(RoomMember(room_id=room.id, user_id=user.id))
        db.session.commit()
        demo = Demo(session_id=listing.id, room_code=room.code)
        db.session.remove()
        db.engine.dispose()
    return demo


def demo_lines(demo: Demo, settings: Settings) -> list[str]:
    url = settings.public_url
    return [
        f"Demo logins (password {DEMO_PASSWORD}):",
        "  facilitator@downbeat.local  sees live alerts at " + f"{url}/facilitator",
        "  user@downbeat.local         books the demo session at " + f"{url}/sessions",
        "  musician@downbeat.local     answers booking requests at " + f"{url}/requests",
        "  producer@downbeat.local     sends booking requests from " + f"{url}/projects",
        "  (producer and musician have a first conversation at " + f"{url}/messages)",
        f"Demo room: {url}/rooms/{demo.room_code}  (code {demo.room_code})",
    ]


def print_demo(demo: Demo, settings: Settings) -> None:
    for line in demo_lines(demo, settings):
        print(line)
