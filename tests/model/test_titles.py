"""Markov titles: novelty, volume from a small discography, casing, seeds, persistence."""

from __future__ import annotations

import json
import os
import random

import pytest

from model.titles import TitleModel, generate_titles, normalize_title

# An invented 40-title discography, metal leaning into pop, Title Case with a few quirks.
DISCOGRAPHY = [
    "Into the Black Void", "Children of the Grave", "Heart of Darkness", "Bleeding Skies",
    "The Call of the Abyss", "Frozen Throne", "Ashes to Ashes", "Kingdom of Ice",
    "Sacrifice the Sun", "Under a Funeral Moon", "Night Eternal", "Wolves at the Gate",
    "Burning the Witch", "Crimson Tide", "Fire in the Sky", "Dead Stars Rising",
    "Hymn of the Fallen", "Black Winter Day", "Gates of Oblivion", "Cold Blood",
    "The Serpent's Kiss", "Shadows of the Past", "Dance With the Dead", "Electric Heart",
    "Summer Nights", "Broken Mirror", "Lost in the Echo", "Ghost Town",
    "Midnight Run", "Neon Tears", "Where the Wild Roses Grow", "Silver Lining",
    "Kiss of Fire", "Stay (Forever Young)", "Chains of Love", "Dark Side of the Sun",
    "Thunder Road", "Empire of Dust", "Raining Blood", "Wasteland",
]
SOURCES = {normalize_title(t) for t in DISCOGRAPHY}


@pytest.fixture(scope="module")
def model() -> TitleModel:
    return TitleModel.from_titles(DISCOGRAPHY)


def test_discography_fixture_has_forty_distinct_titles():
    assert len(SOURCES) == 40


def test_thousand_draws_give_at_least_500_unique_novel_titles(model):
    rng = random.Random(7)
    seen: set[str] = set()
    for _ in range(1000):
        title = model.draw(rng, exclude=seen)
        if title is not None:
            seen.add(normalize_title(title))
    assert len(seen) >= 500
    assert not seen & SOURCES


def test_generate_returns_n_distinct_titles_none_a_source(model):
    titles = model.generate(1000, seed=3)
    assert len(titles) == 1000
    normalized = [normalize_title(t) for t in titles]
    assert len(set(normalized)) == 1000
    assert not set(normalized) & SOURCES


def test_titles_respect_length_bounds_and_balance_brackets(model):
    for title in model.generate(300, seed=11):
        assert 1 <= len(title.split()) <= 8
        assert len(title) <= 60
        assert title.count("(") == title.count(")")
        assert title == title.strip() and "  " not in title


def test_titles_follow_the_sources_title_case(model):
    titles = model.generate(300, seed=5)
    for title in titles:
        assert title[0].isupper() or not title[0].isalpha(), title
    # Mid-title small words keep the sources' lower case ("of", "the"), as in "Children of the Grave".
    mid_words = [w for t in titles for w in t.split()[1:]]
    assert "the" in mid_words and "The" not in mid_words
    assert "of" in mid_words and "Of" not in mid_words


def test_near_copies_and_fragments_are_not_novel(model):
    assert not model.is_novel("INTO THE BLACK VOID!")  # a source, other case and punctuation
    assert not model.is_novel("the serpents kiss")  # apostrophe dropped
    assert not model.is_novel("Into the Black Voids")  # one letter off
    assert not model.is_novel("The Black Void")  # a run of a source's words
    assert not model.is_novel("Heart of Darkness Rising")  # a source plus one word
    assert model.is_novel("Children of Darkness")  # a genuine recombination


def test_same_seed_same_list_and_different_seed_different_list(model):
    assert model.generate(200, seed=42) == model.generate(200, seed=42)
    assert model.generate(200, seed=42) != model.generate(200, seed=43)
    fresh = TitleModel.from_titles(list(DISCOGRAPHY))
    assert fresh.generate(50, seed=42) == model.generate(50, seed=42)


def test_generation_leaves_the_global_random_state_alone(model):
    random.seed(1234)
    expected = random.random()
    random.seed(1234)
    model.generate(50, seed=1)
    assert random.random() == expected


def test_generate_titles_function_matches_the_model():
    titles = generate_titles(DISCOGRAPHY, 30, seed=9)
    assert titles == TitleModel.from_titles(DISCOGRAPHY).generate(30, seed=9)


def test_higher_orders_alone_mostly_repeat_a_small_discography():
    # Why the ladder exists: a third-order chain by itself finds few novel titles.
    strict = TitleModel.from_titles(DISCOGRAPHY, orders=(3,), char_orders=())
    assert len(strict.generate(500, seed=1, max_tries=500)) < 50


@pytest.mark.parametrize(
    "titles",
    [[], ["One", "Two", "Two", "  ", "three"], "Not A List Of Titles"],
)
def test_too_few_titles_is_a_clear_value_error(titles):
    with pytest.raises(ValueError, match="titles"):
        TitleModel.from_titles(titles)


def test_bad_order_is_a_value_error():
    with pytest.raises(ValueError, match="orders"):
        TitleModel.from_titles(DISCOGRAPHY, orders=(0,))


def test_save_load_round_trip(model, tmp_path):
    path = model.save(tmp_path / "titles.json")
    loaded = TitleModel.load(path)
    assert loaded.to_dict() == model.to_dict()
    assert loaded.generate(100, seed=8) == model.generate(100, seed=8)
    assert [p.name for p in tmp_path.iterdir()] == ["titles.json"]  # no temporary left behind
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_load_refuses_an_unknown_format_version(model, tmp_path):
    data = model.to_dict()
    data["format_version"] = 99
    path = tmp_path / "titles.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="format_version"):
        TitleModel.load(path)


def test_cli_titles_writes_the_same_titles_as_json(tmp_path):
    from app.cli import main

    source = tmp_path / "discography.txt"
    source.write_text("\n".join(DISCOGRAPHY) + "\n", encoding="utf-8")
    out = tmp_path / "titles.json"
    assert main(["titles", str(source), "-n", "25", "--seed", "4", "--json", "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == generate_titles(DISCOGRAPHY, 25, seed=4)


def test_cli_titles_reports_too_few_titles_as_an_error(tmp_path, capsys):
    from app.cli import main

    source = tmp_path / "two.txt"
    source.write_text("One Song\nAnother Song\n", encoding="utf-8")
    assert main(["titles", str(source)]) == 2
    assert "need at least 5 distinct song titles" in capsys.readouterr().err
