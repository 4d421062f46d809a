"""Where resources live, for Location headers and links inside JSON."""

from __future__ import annotations

API_PREFIX = "/api/v1"


def job_url(job_id: int) -> str:
    return f"{API_PREFIX}/jobs/{job_id}"


def run_url(run_id: int) -> str:
    return f"{API_PREFIX}/runs/{run_id}"


def clip_audio_url(clip_id: int) -> str:
    return f"{API_PREFIX}/clips/{clip_id}/audio"


def clip_peaks_url(clip_id: int) -> str:
    return f"{API_PREFIX}/clips/{clip_id}/peaks"


def source_audio_url(source_id: int) -> str:
    return f"{API_PREFIX}/sources/{source_id}/audio"


def image_url(image_id: int) -> str:
    return f"{API_PREFIX}/images/{image_id}"
