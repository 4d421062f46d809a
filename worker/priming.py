"""The excerpt a primed generator reads first (app/services/priming.py resolved it): decoded
from media storage, mono, DC removed and resampled to the model's rate like training audio, so
a source track of another rate or a stereo clip primes the same way a prepared chunk would."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from app.contract.payloads import PrimeExcerpt
from app.storage import Storage
from model.audio import decode
from model.preprocess import remove_dc, resample, to_mono
from worker.errors import JobError


def load_prime(
    storage: Storage, prime: PrimeExcerpt, sample_rate: int, lookback: int
) -> npt.NDArray[np.float32]:
    """`prime.seconds` of the file from `prime.start_s`, float32 [samples] at `sample_rate`
    (Hz). Refused when the file ends less than `lookback` samples after the start (the engine
    warms its state a top-tier frame at a time)."""
    path = storage.path(prime.key)
    if not path.is_file():
        what = prime.label or prime.key
        raise JobError(f"the prime's audio ({what}) is missing from media storage")
    audio, file_sr = decode(path)
    mono = remove_dc(to_mono(audio))
    mono = resample(mono, file_sr, sample_rate) if file_sr != sample_rate else mono
    a = int(round(prime.start_s * sample_rate))
    excerpt = mono[a : a + int(round(prime.seconds * sample_rate))]
    if excerpt.shape[0] < lookback:
        raise JobError(
            f"the prime excerpt at {prime.start_s:g} s holds {excerpt.shape[0]} samples, fewer "
            f"than the model's lookback ({lookback})"
        )
    return np.ascontiguousarray(excerpt, dtype=np.float32)
