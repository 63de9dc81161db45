"""Project files, their versions, comments pinned to a moment or a page, resumable uploads,
and the deliverables of accepted booking requests (docs/FILES.md).

A file's bytes are never here: each version names its object in storage (``storage_key``,
made by us, never from a user's file name). A deleted file is marked first and its objects
are removed by a job afterwards, so a crash between the two leaves a row to retry from,
never an object nobody knows about.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from control_plane.accounts.models import User
from control_plane.kits.db.types import UTCDateTime, utcnow
from control_plane.kits.extensions import db

__all__ = ["Deliverable", "FileComment", "FileUpload", "FileVersion", "ProjectFile"]


class ProjectFile(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "project_files"
    __table_args__ = (
        CheckConstraint("kind IN ('audio', 'score', 'image', 'document', 'other')", name="kind_known"),
        Index("ix_project_files_project_updated", "project_id", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by DELETE; the purge job removes the objects, then the rows.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)

    created_by: Mapped[User] = relationship()
    versions: Mapped[list[FileVersion]] = relationship(
        back_populates="file", order_by="FileVersion.number", cascade="all, delete-orphan"
    )


class FileVersion(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "file_versions"
    __table_args__ = (
        UniqueConstraint("file_id", "number", name="uq_file_versions_number"),
        CheckConstraint(
            "analysis_status IN ('none', 'pending', 'running', 'done', 'failed')", name="analysis_status_known"
        ),
        Index("ix_file_versions_analysis", "analysis_status", "analysis_requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("project_files.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Audio only ('none' for the rest): the stream worker reports through a signed callback.
    analysis_status: Mapped[str] = mapped_column(String(16), default="none")
    analysis_progress: Mapped[float] = mapped_column(Float, default=0.0)
    analysis: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)
    analysis_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    analysis_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    analysis_attempts: Mapped[int] = mapped_column(Integer, default=0)

    file: Mapped[ProjectFile] = relationship(back_populates="versions")
    uploaded_by: Mapped[User] = relationship()


class FileComment(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "file_comments"
    __table_args__ = (
        Index("ix_file_comments_file", "file_id", "id"),
        CheckConstraint("until_ms IS NULL OR (at_ms IS NOT NULL AND until_ms > at_ms)", name="span_ordered"),
        CheckConstraint("at_ms IS NULL OR page IS NULL", name="one_pin"),
        CheckConstraint("page IS NULL OR (x IS NOT NULL AND y IS NOT NULL)", name="point_whole"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("project_files.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("file_versions.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    until_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    page: Mapped[int | None] = mapped_column(Integer, nullable=True)
    x: Mapped[float | None] = mapped_column(Float, nullable=True)
    y: Mapped[float | None] = mapped_column(Float, nullable=True)
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("file_comments.id", ondelete="CASCADE"), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
    version: Mapped[FileVersion] = relationship()


class FileUpload(db.Model):  # type: ignore[name-defined,misc]
    """A resumable upload. Its bytes so far are a staging file named after the id; the
    offset is that file's length (bytes that reached the disk count, whatever happened to
    the request that wrote them)."""

    __tablename__ = "file_uploads"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'done')", name="upload_status_known"),
        Index("ix_file_uploads_expires", "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random 128 bits, hex
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("project_files.id", ondelete="CASCADE"), nullable=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    size: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(8), default="open")
    result_file_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    result_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Deliverable(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "deliverables"
    __table_args__ = (
        CheckConstraint(
            "status IN ('open', 'submitted', 'approved', 'changes_requested')", name="deliverable_status_known"
        ),
        Index("ix_deliverables_request", "request_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("booking_requests.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open")
    file_id: Mapped[int | None] = mapped_column(ForeignKey("project_files.id", ondelete="SET NULL"), nullable=True)
    version_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
