"""What the curator makes from clips: songs (edit lists), titles, covers, albums, exports."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.base import Base, Timestamps


class Track(Timestamps, Base):
    """A song as an edit decision list over clips; audio is rendered on demand, never stored.

    `edl` is a list of items `{clip_id, start_s, end_s, gain_db, fade_in_s, fade_out_s, repeat,
    lane, offset_s, pan}`; `revision` goes up on every save so renders can be cached per revision.
    """

    __tablename__ = "tracks"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(300), default="")
    edl: Mapped[list[Any]] = mapped_column(default=list)
    revision: Mapped[int] = mapped_column(default=1)


class Title(Timestamps, Base):
    """A generated (Markov) song title."""

    __tablename__ = "titles"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(default=0)
    picked: Mapped[bool] = mapped_column(default=False)


class Cover(Timestamps, Base):
    """A generated album cover. `path` is a storage key."""

    __tablename__ = "covers"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    method: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    path: Mapped[str] = mapped_column(String(500))
    picked: Mapped[bool] = mapped_column(default=False)


class Album(Timestamps, Base):
    """An album and its release metadata (written into every exported file's tags).

    Empty strings mean "not given": `album_artist` then falls back to `artist`, `release_date`
    (`YYYY` or `YYYY-MM-DD`) to the year the album was created. `upc` is the release's barcode
    (UPC-A or EAN-13 digits), `disc_number`/`disc_total` place it in a multi-disc set.
    """

    __tablename__ = "albums"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    artist: Mapped[str] = mapped_column(String(300))
    cover_id: Mapped[int | None] = mapped_column(ForeignKey("covers.id", ondelete="SET NULL"))
    album_artist: Mapped[str] = mapped_column(String(300), default="")
    release_date: Mapped[str] = mapped_column(String(10), default="")
    genre: Mapped[str] = mapped_column(String(100), default="")
    label: Mapped[str] = mapped_column(String(300), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    upc: Mapped[str] = mapped_column(String(13), default="")
    disc_number: Mapped[int | None]
    disc_total: Mapped[int | None]

    items: Mapped[list[AlbumTrack]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="AlbumTrack.position"
    )


class AlbumTrack(Base):
    """One slot of an album's track list: which song, under which title, then how much silence;
    and the recording's own metadata: composer, ISRC (12 characters, no hyphens) and credits
    (`[{role, name}]`, roles from app/schemas/albums.py `CreditRole`)."""

    __tablename__ = "album_tracks"
    __table_args__ = (UniqueConstraint("album_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    album_id: Mapped[int] = mapped_column(ForeignKey("albums.id", ondelete="CASCADE"))
    position: Mapped[int]
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    gap_s: Mapped[float] = mapped_column(default=2.0)
    composer: Mapped[str] = mapped_column(String(300), default="")
    isrc: Mapped[str] = mapped_column(String(12), default="")
    credits: Mapped[list[Any]] = mapped_column(default=list)


class Export(Timestamps, Base):
    """A release zip of an album. `path` is a storage key once the export job succeeded."""

    __tablename__ = "exports"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    album_id: Mapped[int] = mapped_column(ForeignKey("albums.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    formats: Mapped[list[Any]] = mapped_column(default=list)  # e.g. ["flac", "mp3"]
    status: Mapped[str] = mapped_column(String(16), default="queued")
    path: Mapped[str | None] = mapped_column(String(500))
    size_bytes: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
