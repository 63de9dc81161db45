"""musician search, ratings and profile extras (issue 8)

- ``musician_profiles``: ``display_name`` (mirrors ``users.name``), ``search_text``
  (instruments, genres, city), ``photo_url``, rating aggregates (``rating_count``,
  ``rating_sum``, ``rating_rank``), ``rate_sort``, and indexes for the bounding box (lat, lon)
  and for keyset pagination per sort order.
- ``musician_genres`` (indexed genre filter) and ``musician_reviews`` (one per request).
- ``musician_week_windows`` and two columns of ``musician_availability``: the coarse weekly
  picture in UTC that lets SQL prefilter "free in this window" (see musicians/week_index.py).
  Availability saved before this revision has no rows and an empty ``indexed_zone``, which
  search treats as "check exactly", so nothing is missed until the musician saves again.
- Full text: SQLite gets the FTS5 table ``musician_fts`` (external content over
  ``musician_profiles``) and triggers that keep it in step; PostgreSQL gets the generated
  column ``search_vector`` with a GIN index. Both use plain word tokens without stemming
  (``unicode61`` / the ``simple`` configuration), so prefix queries behave alike.
- A trigger on ``users`` copies a renamed account's name into ``display_name``.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

import control_plane.kits.db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NO_RATE = 2_147_483_647
PRIOR_MEAN = 3.5

SQLITE_UP = [
    "CREATE VIRTUAL TABLE musician_fts USING fts5("
    "display_name, search_text, bio, content='musician_profiles', content_rowid='user_id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER tr_musician_profiles_fts_insert AFTER INSERT ON musician_profiles BEGIN "
    "INSERT INTO musician_fts(rowid, display_name, search_text, bio) "
    "VALUES (new.user_id, new.display_name, new.search_text, new.bio); END",
    "CREATE TRIGGER tr_musician_profiles_fts_delete AFTER DELETE ON musician_profiles BEGIN "
    "INSERT INTO musician_fts(musician_fts, rowid, display_name, search_text, bio) "
    "VALUES ('delete', old.user_id, old.display_name, old.search_text, old.bio); END",
    "CREATE TRIGGER tr_musician_profiles_fts_update AFTER UPDATE OF display_name, search_text, bio "
    "ON musician_profiles BEGIN "
    "INSERT INTO musician_fts(musician_fts, rowid, display_name, search_text, bio) "
    "VALUES ('delete', old.user_id, old.display_name, old.search_text, old.bio); "
    "INSERT INTO musician_fts(rowid, display_name, search_text, bio) "
    "VALUES (new.user_id, new.display_name, new.search_text, new.bio); END",
    "CREATE TRIGGER tr_users_name_to_musician_profiles AFTER UPDATE OF name ON users "
    "WHEN old.name IS NOT new.name BEGIN "
    "UPDATE musician_profiles SET display_name = new.name WHERE user_id = new.id; END",
    "INSERT INTO musician_fts(musician_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS tr_users_name_to_musician_profiles",
    "DROP TRIGGER IF EXISTS tr_musician_profiles_fts_update",
    "DROP TRIGGER IF EXISTS tr_musician_profiles_fts_delete",
    "DROP TRIGGER IF EXISTS tr_musician_profiles_fts_insert",
    "DROP TABLE IF EXISTS musician_fts",
]
POSTGRES_UP = [
    "ALTER TABLE musician_profiles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple', coalesce(display_name, '')), 'A') || "
    "setweight(to_tsvector('simple', coalesce(search_text, '')), 'B') || "
    "setweight(to_tsvector('simple', coalesce(bio, '')), 'C')) STORED",
    "CREATE INDEX ix_musician_profiles_search_vector ON musician_profiles USING gin (search_vector)",
    "CREATE FUNCTION musician_profiles_follow_user_name() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN UPDATE musician_profiles SET display_name = NEW.name WHERE user_id = NEW.id; RETURN NEW; END $$",
    "CREATE TRIGGER tr_users_name_to_musician_profiles AFTER UPDATE OF name ON users FOR EACH ROW "
    "WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION musician_profiles_follow_user_name()",
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS tr_users_name_to_musician_profiles ON users",
    "DROP FUNCTION IF EXISTS musician_profiles_follow_user_name()",
    "DROP INDEX IF EXISTS ix_musician_profiles_search_vector",
    "ALTER TABLE musician_profiles DROP COLUMN IF EXISTS search_vector",
]


def upgrade() -> None:
    with op.batch_alter_table("musician_profiles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("display_name", sa.String(length=120), server_default="", nullable=False))
        batch_op.add_column(sa.Column("rate_sort", sa.Integer(), server_default=str(NO_RATE), nullable=False))
        batch_op.add_column(sa.Column("photo_url", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("search_text", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("rating_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("rating_sum", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("rating_rank", sa.Float(), server_default=str(PRIOR_MEAN), nullable=False))
        batch_op.create_check_constraint("rating_count_not_negative", "rating_count >= 0")
        batch_op.create_index("ix_musician_profiles_lat_lon", ["lat", "lon"], unique=False)
        batch_op.create_index("ix_musician_profiles_rating", ["rating_rank", "user_id"], unique=False)
        batch_op.create_index("ix_musician_profiles_rate", ["rate_sort", "user_id"], unique=False)
        batch_op.create_index("ix_musician_profiles_name", ["display_name", "user_id"], unique=False)

    op.create_table(
        "musician_genres",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["musician_profiles.user_id"],
            name=op.f("fk_musician_genres_user_id_musician_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_musician_genres")),
    )
    with op.batch_alter_table("musician_genres", schema=None) as batch_op:
        batch_op.create_index("ix_musician_genres_key", ["key"], unique=False)

    op.create_table(
        "musician_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("musician_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", control_plane.kits.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name=op.f("ck_musician_reviews_stars_in_range")),
        sa.ForeignKeyConstraint(
            ["musician_id"], ["users.id"], name=op.f("fk_musician_reviews_musician_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["booking_requests.id"],
            name=op.f("fk_musician_reviews_request_id_booking_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_musician_reviews_reviewer_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_musician_reviews")),
        sa.UniqueConstraint("request_id", name="uq_musician_reviews_request_id"),
    )
    with op.batch_alter_table("musician_reviews", schema=None) as batch_op:
        batch_op.create_index("ix_musician_reviews_musician", ["musician_id", "id"], unique=False)

    with op.batch_alter_table("musician_availability", schema=None) as batch_op:
        batch_op.add_column(sa.Column("indexed_zone", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("has_open_dates", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "musician_week_windows",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("start_w", sa.Integer(), nullable=False),
        sa.Column("end_w", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["musician_availability.user_id"],
            name=op.f("fk_musician_week_windows_user_id_musician_availability"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "start_w", name=op.f("pk_musician_week_windows")),
    )

    _backfill()
    for statement in SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRES_UP:
        op.execute(statement)


def _backfill() -> None:
    """Profiles saved before this revision: name, search words, genre rows and rate key."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT p.user_id, u.name, p.genres, p.city, p.rate_amount FROM musician_profiles p "
            "JOIN users u ON u.id = p.user_id"
        )
    ).all()
    for user_id, name, genres, city, rate_amount in rows:
        genre_list = json.loads(genres) if isinstance(genres, str) else list(genres or [])
        instruments = bind.execute(
            sa.text("SELECT name FROM musician_instruments WHERE user_id = :id ORDER BY position"), {"id": user_id}
        ).scalars()
        words = " ".join([*instruments, *genre_list, city or ""]).strip()
        bind.execute(
            sa.text(
                "UPDATE musician_profiles SET display_name = :name, search_text = :words, rate_sort = :rate "
                "WHERE user_id = :id"
            ),
            {"name": name, "words": words, "rate": NO_RATE if rate_amount is None else rate_amount, "id": user_id},
        )
        for key in {genre.casefold() for genre in genre_list}:
            bind.execute(
                sa.text("INSERT INTO musician_genres (user_id, key) VALUES (:id, :key)"), {"id": user_id, "key": key}
            )


def downgrade() -> None:
    for statement in SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRES_DOWN:
        op.execute(statement)
    op.drop_table("musician_week_windows")
    with op.batch_alter_table("musician_availability", schema=None) as batch_op:
        batch_op.drop_column("has_open_dates")
        batch_op.drop_column("indexed_zone")
    with op.batch_alter_table("musician_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_musician_reviews_musician")
    op.drop_table("musician_reviews")
    with op.batch_alter_table("musician_genres", schema=None) as batch_op:
        batch_op.drop_index("ix_musician_genres_key")
    op.drop_table("musician_genres")
    with op.batch_alter_table("musician_profiles", schema=None) as batch_op:
        batch_op.drop_index("ix_musician_profiles_name")
        batch_op.drop_index("ix_musician_profiles_rate")
        batch_op.drop_index("ix_musician_profiles_rating")
        batch_op.drop_index("ix_musician_profiles_lat_lon")
        batch_op.drop_constraint(batch_op.f("ck_musician_profiles_rating_count_not_negative"), type_="check")
        for column in ("rating_rank", "rating_sum", "rating_count", "search_text", "photo_url", "rate_sort"):
            batch_op.drop_column(column)
        batch_op.drop_column("display_name")
