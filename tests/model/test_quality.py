"""The quality score ranks clean music above every failure mode, and copies below originals."""

from __future__ import annotations

import pytest

from model.analysis import analyze
from model.closeness import AlbumIndex
from model.quality import STYLE_SCALE, flag_term, quality_score, style_term
from model.synth import through_composed
from tests.model import signals as s


def test_best_first_puts_clean_music_first_and_dead_air_last() -> None:
    album = [through_composed(30.0, s.SR, 100 + i) for i in range(2)]
    index = AlbumIndex.build([(str(i), f"t{i}", (lambda a=a: (a, s.SR))) for i, a in enumerate(album)])
    clips = {
        "music": s.music(8.0, seed=5),
        "copy": s.with_noise(album[0][5 * s.SR : 13 * s.SR], 20.0),
        "loop": s.looped(before=2.0, period=0.5, repeats=12),
        "drone": s.drone(),
        "noise": s.white_noise(),
        "silent": s.silence(),
    }
    scores = {name: analyze(x, s.SR, index).quality for name, x in clips.items()}
    assert all(0.0 <= q <= 1.0 for q in scores.values())
    ranked = sorted(scores, key=lambda n: -scores[n])
    assert ranked[0] == "music", scores
    assert ranked[-1] == "silent" and scores["silent"] < 0.01, scores
    assert scores["copy"] < 0.5 * scores["music"], scores


def test_the_documented_terms() -> None:
    assert style_term(None) == 1.0 and style_term(STYLE_SCALE) == pytest.approx(0.5)
    assert flag_term([("silent", 1.0)]) == 0.0
    assert flag_term([("loop", 0.5), ("dc", 1.0)]) == pytest.approx(0.7 * 0.8)
    assert quality_score([], style_distance=None, copied_share=1.0) == 0.5
