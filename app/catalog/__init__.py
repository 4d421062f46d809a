"""The catalog: SQLAlchemy models for every noun of DESIGN.md, importable from one place.

`Base.metadata` holds every table once this package is imported (Alembic's env.py relies on it).
"""

from app.catalog.album import Album, AlbumTrack, Cover, Export, Title, Track
from app.catalog.base import Base, utcnow
from app.catalog.jobs import JOB_STATUSES, TERMINAL_STATUSES, Job
from app.catalog.sources import Dataset, Project, SourceImage, SourceTitle, SourceTrack
from app.catalog.training import Checkpoint, Clip, Marker, Run
from app.catalog.upsert import insert_ignore

__all__ = [
    "JOB_STATUSES",
    "TERMINAL_STATUSES",
    "Album",
    "AlbumTrack",
    "Base",
    "Checkpoint",
    "Clip",
    "Cover",
    "Dataset",
    "Export",
    "Job",
    "Marker",
    "Project",
    "Run",
    "SourceImage",
    "SourceTitle",
    "SourceTrack",
    "Title",
    "Track",
    "insert_ignore",
    "utcnow",
]
