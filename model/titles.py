"""Markov-chain song titles from an artist's discography.

The paper runs the discography's titles through second- and third-order word chains. A real
discography is small (a few dozen titles, two to four words each), so a third-order chain mostly
walks a source title from start to end and a second-order one rarely does better. Each draw
therefore walks a ladder: the word chains from the highest order down (3, 2, 1), then character
chains (4, 3) that invent new words. The first walk that yields a novel title wins; a title counts
as novel when it is neither a source, nor a near-copy of one, nor one already produced.

Randomness comes only from a `random.Random(seed)` passed in; the chains are markovify `Chain`
objects (built and serialised by markovify) but walked here, because `Chain.move` draws from the
global `random` module.
"""

from __future__ import annotations

import difflib
import json
import os
import random
import re
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markovify import Chain
from markovify.chain import BEGIN, END

FORMAT_VERSION = 1
MIN_TITLES = 5  # fewer distinct titles give a chain with nothing to recombine
MAX_WORDS = 8
MAX_CHARS = 60
DEFAULT_ORDERS = (3, 2, 1)  # word-level, tried in this order
DEFAULT_CHAR_ORDERS = (4, 3)  # character-level, tried after the word chains
# difflib ratio on normalised text at or above which a title is a copy
DEFAULT_NEAR_COPY_RATIO = 0.85
TRIES_PER_CHAIN = 3  # walks per rung of the ladder before backing off to the next chain

# Words Title Case leaves lower-case mid-title when the sources give no preference of their own.
_SMALL_WORDS = frozenset(
    "a an and as at but by for from in into nor of on or over per the to vs via with".split()
)
_NOT_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")


def normalize_title(title: str) -> str:
    """Case-, punctuation- and spacing-insensitive form used to compare titles."""
    text = unicodedata.normalize("NFKC", title).casefold()
    text = _NOT_WORD.sub(" ", text.replace("'", "").replace("\u2019", ""))
    return _SPACES.sub(" ", text).strip()


def _tokens(title: str) -> list[str]:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", title)).strip().split(" ")


def _capitalize(word: str) -> str:
    for i, ch in enumerate(word):  # "(part" -> "(Part"
        if ch.isalpha():
            return word[:i] + ch.upper() + word[i + 1 :]
    return word


@dataclass(frozen=True)
class Casing:
    """How the sources write their words, applied to generated (lower-case) titles.

    `preferred` maps a lower-case word to its most common spelling away from the first position
    (so "The" opening a title does not make "the" capitalised mid-title); `style` says what to do
    with words the sources never used: "title", "sentence", "upper" or "lower".
    """

    preferred: dict[str, str] = field(default_factory=dict)
    style: str = "title"

    @classmethod
    def from_titles(cls, titles: Sequence[str]) -> Casing:
        mid: dict[str, dict[str, int]] = {}
        first: dict[str, dict[str, int]] = {}
        lettered = [t for t in titles if any(c.isalpha() for c in t)]
        for title in lettered:
            for i, tok in enumerate(_tokens(title)):
                forms = (first if i == 0 else mid).setdefault(tok.lower(), {})
                forms[tok] = forms.get(tok, 0) + 1
        preferred = {w: max(forms, key=forms.__getitem__) for w, forms in first.items()}
        preferred.update({w: max(forms, key=forms.__getitem__) for w, forms in mid.items()})
        n = max(1, len(lettered))
        if sum(t == t.upper() for t in lettered) >= 0.8 * n:
            style = "upper"
        elif sum(t == t.lower() for t in lettered) >= 0.8 * n:
            style = "lower"
        else:
            inner = [
                tok for t in lettered for tok in _tokens(t)[1:]
                if tok[:1].isalpha() and tok.lower() not in _SMALL_WORDS
            ]
            capital = sum(tok[0].isupper() for tok in inner)
            style = "title" if capital >= 0.5 * max(1, len(inner)) else "sentence"
        return cls(preferred=preferred, style=style)

    def apply(self, words: Sequence[str]) -> str:
        out = []
        for i, word in enumerate(words):
            known = self.preferred.get(word)
            if known is not None:
                cased = known
            elif self.style == "upper":
                cased = word.upper()
            elif self.style == "title" and word not in _SMALL_WORDS:
                cased = _capitalize(word)
            else:
                cased = word
            out.append(_capitalize(cased) if i == 0 and self.style != "lower" else cased)
        return " ".join(out)


class _Walker:
    """A markovify chain with its transitions compiled for walking with a private RNG."""

    def __init__(self, chain: Chain, *, kind: str, limit: int):
        self.chain = chain
        self.kind = kind  # "word" or "char"
        self.limit = limit  # longest walk (in steps) worth finishing
        self._begin: tuple[str, ...] = (BEGIN,) * chain.state_size
        # state -> (next steps, cumulative counts)
        self._next: dict[tuple[str, ...], tuple[list[str], list[int]]] = {}
        for state, follow in chain.model.items():
            choices = list(follow)
            cum: list[int] = []
            total = 0
            for count in follow.values():
                total += count
                cum.append(total)
            self._next[state] = (choices, cum)

    def walk(self, rng: random.Random) -> list[str] | None:
        """One run from BEGIN to END, or None when it grows past `limit` steps."""
        state = self._begin
        out: list[str] = []
        while True:
            choices, cum = self._next[state]
            step = rng.choices(choices, cum_weights=cum)[0]
            if step == END:
                return out
            out.append(step)
            if len(out) > self.limit:
                return None
            state = state[1:] + (step,)

    def words(self, rng: random.Random) -> list[str] | None:
        steps = self.walk(rng)
        if steps is None:
            return None
        return steps if self.kind == "word" else "".join(steps).split()


class TitleModel:
    """Word and character Markov chains over a discography, plus the sources to stay away from.

    Build with `TitleModel.from_titles(titles)`; draw with `generate(n, seed=...)`.
    """

    def __init__(
        self,
        sources: Sequence[str],
        word_chains: dict[int, Chain],
        char_chains: dict[int, Chain],
        casing: Casing,
        *,
        near_copy_ratio: float = DEFAULT_NEAR_COPY_RATIO,
    ):
        self.sources = list(sources)
        self.word_chains = dict(word_chains)
        self.char_chains = dict(char_chains)
        self.casing = casing
        self.near_copy_ratio = near_copy_ratio
        self._ladder = [
            _Walker(c, kind="word", limit=MAX_WORDS)
            for _, c in sorted(word_chains.items(), reverse=True)
        ] + [
            _Walker(c, kind="char", limit=MAX_CHARS)
            for _, c in sorted(char_chains.items(), reverse=True)
        ]
        self._normalized = [normalize_title(s) for s in self.sources]
        self._source_set = frozenset(self._normalized)

    @classmethod
    def from_titles(
        cls,
        titles: Iterable[str],
        *,
        orders: Sequence[int] = DEFAULT_ORDERS,
        char_orders: Sequence[int] = DEFAULT_CHAR_ORDERS,
        near_copy_ratio: float = DEFAULT_NEAR_COPY_RATIO,
    ) -> TitleModel:
        """Chains over `titles` (one string each; blanks and duplicates ignored).

        Raises ValueError for fewer than MIN_TITLES distinct titles or an order below 1.
        """
        if isinstance(titles, str):
            raise ValueError("titles must be a list of strings, not one string")
        sources, seen = [], set()
        for title in titles:
            if not isinstance(title, str):
                raise ValueError(f"titles must be strings, got {type(title).__name__}")
            key = normalize_title(title)
            if key and key not in seen:
                seen.add(key)
                sources.append(_SPACES.sub(" ", title).strip())
        if len(sources) < MIN_TITLES:
            raise ValueError(
                f"need at least {MIN_TITLES} distinct song titles to learn from, got {len(sources)}"
            )
        if not orders and not char_orders:
            raise ValueError("need at least one word or character chain order")
        for k in (*orders, *char_orders):
            if not isinstance(k, int) or k < 1:
                raise ValueError(f"chain orders must be integers >= 1, got {k!r}")
        word_runs = [[w.lower() for w in _tokens(t)] for t in sources]
        char_runs = [list(" ".join(run)) for run in word_runs]
        return cls(
            sources,
            {k: Chain(word_runs, k) for k in orders},
            {k: Chain(char_runs, k) for k in char_orders},
            Casing.from_titles(sources),
            near_copy_ratio=near_copy_ratio,
        )

    # -- novelty ---------------------------------------------------------------------------

    def is_novel(self, title: str) -> bool:
        """False for a source title, a fragment of one (a run of its words), a source with one
        word added, or anything whose normalised text is `near_copy_ratio` similar to a source."""
        norm = normalize_title(title)
        if not norm or norm in self._source_set:
            return False
        padded, n_words = f" {norm} ", norm.count(" ") + 1
        matcher = difflib.SequenceMatcher(autojunk=False)
        matcher.set_seq2(norm)  # SequenceMatcher caches facts about seq2; sources vary as seq1
        for src in self._normalized:
            src_padded = f" {src} "
            if padded in src_padded or (
                src_padded in padded and n_words - (src.count(" ") + 1) <= 1
            ):
                return False
            matcher.set_seq1(src)
            if (
                matcher.real_quick_ratio() >= self.near_copy_ratio
                and matcher.quick_ratio() >= self.near_copy_ratio
                and matcher.ratio() >= self.near_copy_ratio
            ):
                return False
        return True

    def _acceptable(self, words: list[str]) -> str | None:
        if not 1 <= len(words) <= MAX_WORDS:
            return None
        text = " ".join(words)
        if len(text) > MAX_CHARS or sum(c.isalpha() for c in text) < 2:
            return None
        if text.count("(") != text.count(")") or text.count('"') % 2:
            return None  # a character walk that opened a bracket or quote and never closed it
        return self.casing.apply(words)

    # -- drawing ---------------------------------------------------------------------------

    def draw(self, rng: random.Random, *, exclude: Iterable[str] = ()) -> str | None:
        """One novel title, walking the ladder of chains from highest order down, or None.

        `exclude` holds normalised titles that also count as copies (those already drawn), so a
        chain that has nothing new left to say hands over to the next one.
        """
        excluded = exclude if isinstance(exclude, (set, frozenset)) else set(exclude)
        for walker in self._ladder:
            for _ in range(TRIES_PER_CHAIN):
                words = walker.words(rng)
                title = None if words is None else self._acceptable(words)
                if title and normalize_title(title) not in excluded and self.is_novel(title):
                    return title
        return None

    def generate(self, n: int, *, seed: int, max_tries: int | None = None) -> list[str]:
        """Up to `n` distinct novel titles; the same seed gives the same list.

        Stops early (returning fewer) after `max_tries` draws, default 10 * n + 100.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        rng = random.Random(seed)
        tries = 10 * n + 100 if max_tries is None else max_tries
        out: list[str] = []
        seen: set[str] = set()
        while len(out) < n and tries > 0:
            tries -= 1
            title = self.draw(rng, exclude=seen)
            if title is not None:
                seen.add(normalize_title(title))
                out.append(title)
        return out

    # -- persistence -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "sources": self.sources,
            "word_chains": {str(k): json.loads(c.to_json()) for k, c in self.word_chains.items()},
            "char_chains": {str(k): json.loads(c.to_json()) for k, c in self.char_chains.items()},
            "casing": {"preferred": self.casing.preferred, "style": self.casing.style},
            "near_copy_ratio": self.near_copy_ratio,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TitleModel:
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"unsupported title model format_version {version!r} (want {FORMAT_VERSION})"
            )
        return cls(
            data["sources"],
            {int(k): Chain.from_json(v) for k, v in data["word_chains"].items()},
            {int(k): Chain.from_json(v) for k, v in data["char_chains"].items()},
            Casing(preferred=dict(data["casing"]["preferred"]), style=data["casing"]["style"]),
            near_copy_ratio=float(data["near_copy_ratio"]),
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model as JSON (temporary file, then rename)."""
        path = Path(path)
        # Not tempfile.mkstemp: its 0600 mode would stick to the file; os.open honours umask.
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.to_dict(), f, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TitleModel:
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))


def generate_titles(
    titles: Iterable[str],
    n: int,
    *,
    seed: int,
    orders: Sequence[int] = DEFAULT_ORDERS,
    char_orders: Sequence[int] = DEFAULT_CHAR_ORDERS,
    max_tries: int | None = None,
) -> list[str]:
    """Up to `n` distinct novel song titles in the style of `titles`, reproducible by `seed`."""
    model = TitleModel.from_titles(titles, orders=orders, char_orders=char_orders)
    return model.generate(n, seed=seed, max_tries=max_tries)
