"""Dependency floors with known security fixes (RELIABILITY.md item 33): both what pyproject.toml
asks for and what is installed must stay at or above them."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).parents[1]
FLOORS = {
    "starlette": "0.49.1",  # multipart DoS (GHSA-f96h-pmfr-66vw), UploadFile rollover (CVE-2025-54121), Range O(n^2) (CVE-2025-62727)
    "pillow": "12.2",  # FITS decompression bomb (GHSA-whj4-6x5x-4v2j)
}


def _declared() -> dict[str, Requirement]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {Requirement(d).name.lower(): Requirement(d) for d in deps}


@pytest.mark.parametrize("name,floor", sorted(FLOORS.items()))
def test_pyproject_never_allows_a_version_below_the_floor(name: str, floor: str) -> None:
    req = _declared()[name]
    lowest_allowed = min((Version(s.version) for s in req.specifier if s.operator in (">=", "==", "~=")), default=None)
    assert lowest_allowed is not None and lowest_allowed >= Version(floor), f"{req} allows < {floor}"


@pytest.mark.parametrize("name,floor", sorted(FLOORS.items()))
def test_installed_version_is_at_or_above_the_floor(name: str, floor: str) -> None:
    assert Version(version(name)) >= Version(floor), f"{name} {version(name)} < {floor}"
