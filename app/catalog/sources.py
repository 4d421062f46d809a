"""The project and what the curator brings to it: album audio, song titles, images, datasets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.base import Base, Timestamps

if TYPE_CHECKING:
    from app.catalog.training import Run


class Project(Timestamps, Base):
    """The artist/album being imitated. Deleting it deletes everything under it."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    artist: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")

    sources: Mapped[list[SourceTrack]] = relationship(
        back_populates="project", cascade="all, delete-orphan", passive_deletes=True,
        order_by="SourceTrack.id",
    )
    titles: Mapped[list[SourceTitle]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="SourceTitle.position"
    )
    images: Mapped[list[SourceImage]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="SourceImage.id"
    )
    runs: Mapped[list[Run]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="Run.id"
    )


class SourceTrack(Timestamps, Base):
    """One uploaded album file, decoded and checked on arrival. `path` is a storage key."""

    __tablename__ = "source_tracks"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    display_name: Mapped[str] = mapped_column(String(255))  # sanitized client filename
    path: Mapped[str] = mapped_column(String(500), unique=True)
    format: Mapped[str] = mapped_column(String(16))  # libsndfile major format: WAV, FLAC, MP3...
    sample_rate: Mapped[int]
    channels: Mapped[int]
    frames: Mapped[int]
    duration_s: Mapped[float]
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))

    project: Mapped[Project] = relationship(back_populates="sources")


class SourceTitle(Base):
    """One song title of the artist's discography (the Markov chain's corpus)."""

    __tablename__ = "source_titles"
    __table_args__ = (UniqueConstraint("project_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    position: Mapped[int]
    text: Mapped[str] = mapped_column(String(500))


class SourceImage(Timestamps, Base):
    """An album cover or band photo, re-encoded by the server on upload."""

    __tablename__ = "source_images"
    __table_args__ = (CheckConstraint("role IN ('cover', 'photo')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(500), unique=True)
    format: Mapped[str] = mapped_column(String(8))  # PNG or JPEG, as stored
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]


class Dataset(Timestamps, Base):
    """Chunks prepared from a project's sources for one set of preparation settings.

    `key` identifies (sources, chunks, sample rate, seed) so a project prepares each dataset once;
    `path` is the storage key of the dataset folder, `manifest` its chunk list and split counts.
    """

    __tablename__ = "datasets"
    __table_args__ = (
        UniqueConstraint("project_id", "key"),
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    path: Mapped[str | None] = mapped_column(String(500))
    manifest: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
