"""model/peaks.py (kept under tests/app: the web app's helpers own these formats)."""

from __future__ import annotations

import numpy as np
import pytest

from model.peaks import compute_peaks


def test_format_loads_in_wavesurfer_and_waveform_data() -> None:
    sr = 16000
    x = np.zeros(1000, dtype=np.float32)
    x[10] = 0.5
    x[300] = -1.0
    doc = compute_peaks(x, sr, samples_per_pixel=256)
    # waveform-data / audiowaveform JSON, version 2
    assert doc["version"] == 2 and doc["channels"] == 1 and doc["bits"] == 8
    assert doc["sample_rate"] == sr and doc["samples_per_pixel"] == 256
    assert doc["length"] == 4 and len(doc["data"]) == 2 * doc["length"]
    assert doc["data"][:4] == [0, 64, -128, 0]
    assert all(-128 <= v <= 127 and isinstance(v, int) for v in doc["data"])
    # wavesurfer.js: one channel of signed peaks plus the duration in seconds
    assert doc["peaks"] == [[0.5, -1.0, 0.0, 0.0]]
    assert doc["duration"] == pytest.approx(1000 / sr)


def test_pixels_target_sets_bucket_size() -> None:
    doc = compute_peaks(np.ones(10_000, dtype=np.float32) * 0.25, 8000, pixels=100)
    assert doc["length"] == 100 and doc["samples_per_pixel"] == 100
    assert set(doc["data"][1::2]) == {32}


def test_empty_and_stereo_input() -> None:
    assert compute_peaks(np.zeros(0, dtype=np.float32), 16000)["length"] == 0
    stereo = np.stack([np.full(512, 0.5), np.full(512, -0.5)], axis=1)
    assert compute_peaks(stereo, 16000)["data"] == [0, 0, 0, 0]
    with pytest.raises(ValueError):
        compute_peaks(np.zeros(10), 0)
