"""A primed generate job on a REAL worker process (embedded stack, a `tiny` run trained for one
epoch): every clip is, sample for sample, what the engine makes from the same excerpt of the
album and the clip's seed (model.generate's `prime`), not the unprimed clip of that seed, and
records the moment in its provenance. The excerpt is cut here independently of the worker's
code (soundfile, the engine's own mono/DC steps), so a wrong offset or length would show."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from app.contract.payloads import PrimeExcerpt
from app.storage import Storage
from model.checkpoint import load_model
from model.generate import generate, write_clips
from model.preprocess import remove_dc, resample, to_mono
from tests.worker.conftest import Stack
from tests.worker.harness import API, get, new_project, start_run, tiny_run, wait_for, wait_run
from worker.clips import torch_threads
from worker.errors import JobError
from worker.priming import load_prime

pytestmark = pytest.mark.slow

SR = 16000
START_S, SECONDS = 1.5, 0.75


@pytest.fixture(scope="module")
def trained(embedded: Stack) -> dict[str, Any]:
    pid = new_project(embedded.client, "Primed album")
    run = start_run(embedded.client, pid, tiny_run(1, segments=4, clips=0))
    done = wait_run(embedded.client, run["id"], ("succeeded", "failed"), 240)
    assert done["status"] == "succeeded", (done["error"], embedded.worker.log()[-3000:])
    sources = get(embedded.client, f"/projects/{pid}/sources")["data"]
    return {"pid": pid, "run": done, "checkpoint": done["checkpoints"][0], "source": sources[0]}


def excerpt_of(client: Any, source_id: int) -> np.ndarray:
    """START_S .. + SECONDS of the source as the engine reads audio: mono, DC removed."""
    audio, sr = sf.read(io.BytesIO(client.get(f"{API}/sources/{source_id}/audio").content),
                        dtype="float32", always_2d=True)
    assert sr == SR
    mono = remove_dc(to_mono(audio))
    return mono[int(START_S * SR) : int(START_S * SR) + int(SECONDS * SR)]


def engine_clip(model: Any, seed: int, seconds: float, tmp: Path, prime: np.ndarray | None) -> np.ndarray:
    """The clip the engine makes for `seed`, written and read back as the worker's files are."""
    path = tmp / f"expected-{seed}-{prime is not None}.wav"
    with torch_threads(1), write_clips([path], SR) as write:  # the worker's generate_threads
        generate(model, seeds=[seed], seconds=seconds, temperature=1.0, prime=prime,
                 on_block=write, keep=False)
    return sf.read(str(path), dtype="int16")[0]


def test_primed_clips_are_the_engines_continuation_of_the_excerpt(
    embedded: Stack, trained: dict[str, Any], tmp_path: Path
) -> None:
    client, source = embedded.client, trained["source"]
    prime = {"source_id": source["id"], "start_s": START_S, "seconds": SECONDS}
    r = client.post(f"{API}/checkpoints/{trained['checkpoint']['id']}/generate",
                    json={"n": 2, "seconds": 0.4, "temperature": 1.0, "seed": 5, "prime": prime})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    job = wait_for(lambda: (j := get(client, f"/jobs/{job_id}"))["status"] in
                   ("succeeded", "failed") and j, 180, interval=0.2, what="the primed job")
    assert job["status"] == "succeeded", (job["error"], embedded.worker.log()[-3000:])

    ck = client.get(f"{API}/checkpoints/{trained['checkpoint']['id']}/file")
    assert ck.status_code == 200
    (tmp_path / "ck.pt").write_bytes(ck.content)
    model = load_model(tmp_path / "ck.pt", "cpu")
    excerpt = excerpt_of(client, source["id"])
    assert excerpt.shape[0] == int(SECONDS * SR)
    for clip_id in job["result"]["clip_ids"]:
        clip = get(client, f"/clips/{clip_id}")
        assert clip["provenance"] == {
            "kind": "prime", "prime": prime, "label": source["display_name"],
        }
        assert clip["primed_from"] == f"continued from {source['display_name']} at 0:01.5"
        made = sf.read(io.BytesIO(client.get(f"{API}/clips/{clip_id}/audio").content),
                       dtype="int16")[0]
        primed = engine_clip(model, clip["seed"], 0.4, tmp_path, excerpt)
        unprimed = engine_clip(model, clip["seed"], 0.4, tmp_path, None)
        assert made.shape == primed.shape == (int(0.4 * SR),)
        np.testing.assert_array_equal(made, primed)
        assert not np.array_equal(made, unprimed)
        # It differs from the very start: the state that makes the first sample read the excerpt.
        assert not np.array_equal(made[:400], unprimed[:400])


def test_a_prime_at_another_rate_is_resampled_and_a_cut_one_refused(tmp_path: Path) -> None:
    storage = Storage(tmp_path)
    storage.ensure()
    t = np.arange(int(2.0 * 22050)) / 22050
    stereo = np.stack([np.sin(2 * np.pi * 220 * t), 0.5 * np.sin(2 * np.pi * 330 * t)], axis=1)
    storage.write_bytes("a.wav", _wav(stereo.astype(np.float32), 22050))
    excerpt = load_prime(storage, PrimeExcerpt(key="a.wav", start_s=0.5, seconds=1.0), SR, 16)
    decoded = sf.read(str(storage.path("a.wav")), dtype="float32", always_2d=True)[0]
    expected = resample(remove_dc(to_mono(decoded)), 22050, SR)
    assert excerpt.dtype == np.float32 and excerpt.shape == (SR,)
    np.testing.assert_allclose(excerpt, expected[SR // 2 : SR // 2 + SR], atol=1e-6)
    with pytest.raises(JobError, match="fewer than the model's lookback"):
        load_prime(storage, PrimeExcerpt(key="a.wav", start_s=1.9995, seconds=1.0), SR, 16)


def _wav(audio: np.ndarray, sr: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, audio, sr, format="WAV", subtype="FLOAT")
    return buf.getvalue()
