"""One number per clip for "best first": how much it sounds like the album, how little is
wrong with it, how little of it is copied. 0 (not worth a listen) .. 1.

    quality = style x flags x originality

- style       = 1 / (1 + d / STYLE_SCALE), d the clip's own style distance to the album
                (model/style.py): 1 for the album's own sound, 0.5 at d = 30 (about where a clip
                in the album's style buried in noise lands), 0.25 for white noise. 1 when there
                is no album to compare with.
- flags       = the product over every detector of (1 - weight x score) (model/pathology.py):
                silent and exploded weigh 1 (the score can reach 0), noise and copied 0.9,
                loop 0.6, drone 0.5, clipped 0.3, dc 0.2. A flag below its threshold still
                costs a little, in proportion to its score.
- originality = 1 - 0.5 x (share of the clip that closely follows the album), so a clip that
                borrows a few seconds ranks below one that borrows none; a long copy is the
                `copied` flag's business.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

STYLE_SCALE = 30.0
WEIGHTS: Mapping[str, float] = {
    "silent": 1.0, "exploded": 1.0, "noise": 0.9, "copied": 0.9,
    "loop": 0.6, "drone": 0.5, "clipped": 0.3, "dc": 0.2,
}


def style_term(distance: float | None) -> float:
    return 1.0 if distance is None else 1.0 / (1.0 + max(0.0, distance) / STYLE_SCALE)


def flag_term(scores: Iterable[tuple[str, float]]) -> float:
    term = 1.0
    for name, score in scores:
        term *= 1.0 - WEIGHTS.get(name, 0.0) * min(1.0, max(0.0, score))
    return term


def quality_score(
    scores: Iterable[tuple[str, float]], *, style_distance: float | None, copied_share: float
) -> float:
    """The clip's quality in 0..1 (see the module notes), rounded to 4 places."""
    originality = 1.0 - 0.5 * min(1.0, max(0.0, copied_share))
    return round(style_term(style_distance) * flag_term(scores) * originality, 4)
