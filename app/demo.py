"""The demo project of `albumbot up --demo`, made entirely by code (no downloads, no media in git).

A short synthesized album (drums, bass and chords from `model.synth`), invented discography
titles and a generated cover go in through the same service functions as the API's uploads, and
a `tiny` training run is started with settings sized for a laptop CPU: the first clips appear
within a minute (see `DEMO_RUN`). Calling `ensure_demo` again finds
the project and fills in only what is missing, so restarting `up --demo` never duplicates it.
"""

from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass

import numpy as np
import soundfile as sf
from PIL import Image, ImageDraw, ImageFilter
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.catalog import Project, Run, SourceImage, SourceTitle, SourceTrack
from app.db import make_engine, session_factory
from app.queue import CeleryQueue, TaskQueue
from app.received import ReceivedFile
from app.schemas.runs import RunConfigIn
from app.services import images, projects, runs, sources
from app.settings import Settings
from app.storage import Storage
from model.synth import demo_album

logger = logging.getLogger(__name__)

DEMO_MARKER = "[albumbot demo]"  # in the description: how ensure_demo finds its project again
DEMO_NAME = "Synthetic Sessions"
DEMO_ARTIST = "The Oscillators"
DEMO_TRACKS, DEMO_TRACK_SECONDS, DEMO_SAMPLE_RATE = 3, 50.0, 22050
# The tiny preset on a 2-core laptop CPU. An epoch trains 4 batches x 48 segments of 512 samples
# (the first 1.5 s of each of 64 chunks spread over the album): about 7 s on this project's
# 2-vCPU box. Then 3 clips of 6 s are generated together (about 3 s on one thread). Measured
# from `albumbot up --demo` on an empty data dir to the first clips in the catalog: 15-25 s;
# 60 epochs take about 10 minutes, each adding clips that sound a little more like the album.
DEMO_RUN = RunConfigIn.model_validate(
    {
        "preset": "tiny",
        "epochs": 60,
        "clips_per_epoch": 3,
        "clip_seconds": 6.0,
        "chunks": 64,
        "seed": 0,
        "train": {"max_segments_per_chunk": 48},
    }
)

DEMO_TITLES = (
    "Copper Static", "The Long Oscillation", "Harbor Lights Dissolve", "Low Pass Lullaby",
    "Glass Metronome", "Night Bus to Nowhere", "Paper Satellites", "Sine of the Times",
    "Velvet Feedback", "Northern Drift", "Quiet Engines", "A Room Full of Clocks",
    "Lantern Protocol", "Slow Magnetic", "Waveform Garden", "Under the Noise Floor",
    "Borrowed Thunder", "Amber Loop", "Tape Hiss Romance", "The Fifth Above",
    "Ferry to the Sub-Bass", "Cathode Summer", "Snare Weather", "Minor Orbit",
    "Dust on the Needle", "Signal Lost at Sea", "Kick Drum Heart", "Resonant Houses",
    "Hi-Hat Rain", "Voltage Hymn", "Unquantized", "Triad Motel", "Lowercase Dawn",
    "Echo Chamber Music", "The Gain Staging", "Offbeat Cartography", "Sunday in Mono",
    "Filters at Midnight", "Chorus of Machines", "Last Sample Before Silence",
)


@dataclass(frozen=True)
class DemoInfo:
    project_id: int
    run_id: int
    status: str


def ensure_demo(settings: Settings, *, queue: TaskQueue | None = None) -> DemoInfo:
    """Create (or complete) the demo project and make sure it has a training run."""
    engine = make_engine(settings)
    storage = Storage(settings.media_dir)
    storage.ensure()
    publisher = queue if queue is not None else CeleryQueue(settings)
    try:
        with session_factory(engine)() as session:
            project = _find_or_create(session)
            pid = project.id
            if not _has(session, SourceTrack.project_id, pid):
                _upload_album(session, storage, pid)
            if not _has(session, SourceTitle.project_id, pid):
                projects.replace_titles(session, pid, DEMO_TITLES)
            if not _has(session, SourceImage.project_id, pid):
                _upload_cover(session, storage, pid, settings.max_image_pixels)
            run = session.scalars(select(Run).where(Run.project_id == pid).order_by(Run.id)).first()
            if run is None:
                run = runs.create_run(session, publisher, pid, DEMO_RUN, idempotency_key="demo-run")
                logger.info("demo: started run %d", run.id)
            return DemoInfo(pid, run.id, run.status)
    finally:
        if isinstance(publisher, CeleryQueue):
            publisher.close()
        engine.dispose()


def _has(session: Session, column: InstrumentedAttribute[int], project_id: int) -> bool:
    return session.scalar(select(column).where(column == project_id).limit(1)) is not None


def _find_or_create(session: Session) -> Project:
    project = session.scalars(
        select(Project).where(Project.description.contains(DEMO_MARKER)).order_by(Project.id)
    ).first()
    if project is not None:
        return project
    description = (
        "A short album synthesized by albumbot itself (drums, bass and chords), to try the "
        f"studio without an album of your own. {DEMO_MARKER}"
    )
    return projects.create_project(
        session, name=DEMO_NAME, artist=DEMO_ARTIST, description=description
    )


def _upload_album(session: Session, storage: Storage, project_id: int) -> None:
    received = []
    try:
        for name, audio in demo_album(DEMO_TRACK_SECONDS, DEMO_SAMPLE_RATE, DEMO_TRACKS, seed=7):
            path = storage.temp_path(".wav")
            sf.write(str(path), np.clip(audio, -1, 1), DEMO_SAMPLE_RATE, subtype="PCM_16")
            received.append(ReceivedFile("files", f"{name}.wav", path, path.stat().st_size))
        sources.add_sources(session, storage, project_id, received)
    finally:
        for file in received:  # add_sources moved the accepted ones away
            file.path.unlink(missing_ok=True)


def _upload_cover(session: Session, storage: Storage, project_id: int, max_pixels: int) -> None:
    path = storage.temp_path(".png")
    try:
        path.write_bytes(demo_cover())
        file = ReceivedFile("file", "cover.png", path, path.stat().st_size)
        images.add_image(session, storage, project_id, file, role="cover", max_pixels=max_pixels)
    finally:
        path.unlink(missing_ok=True)


def demo_cover(size: int = 600, seed: int = 7) -> bytes:
    """A PNG album cover: a dusk gradient, a low sun, concentric sound waves, grain."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0.0, 1.0, size)[:, None]
    top, bottom = np.array([24, 18, 64]), np.array([236, 112, 72])
    sky = (top + (bottom - top) * y[..., None] ** 1.5) * np.ones((1, size, 1))
    image = Image.fromarray(sky.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    cx, cy = size // 2, int(size * 0.62)
    for i in range(14, 0, -1):  # rings of sound around the sun, fading outwards
        r = int(size * 0.05 * i)
        shade = int(255 * (1 - i / 16))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(255, shade, 120), width=3)
    sun = int(size * 0.12)
    draw.ellipse((cx - sun, cy - sun, cx + sun, cy + sun), fill=(255, 214, 150))
    horizon = int(size * 0.72)
    for x in range(0, size, 4):  # a waveform skyline
        h = int(size * 0.06 * (1.2 + math.sin(x / 23) * math.cos(x / 57)) + rng.integers(0, 6))
        draw.rectangle((x, horizon - h, x + 3, size), fill=(16, 12, 36))
    image = image.filter(ImageFilter.GaussianBlur(0.6))
    grain = rng.normal(0, 6, (size, size, 1))
    pixels = np.clip(np.asarray(image, dtype=np.float64) + grain, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, format="PNG")
    return out.getvalue()
