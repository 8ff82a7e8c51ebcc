"""Spec documents kept as JSON in the user's cache: the same document as PyYAML builds, or no cache."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import yaml

from mockserver._spec import _read_yaml

SPEC_DIR = Path(__file__).resolve().parents[1] / "spec"


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "mockserver"


@pytest.mark.parametrize("name", ["stack-ai", "hookstream"])
def test_a_cached_spec_is_the_document_yaml_builds(name: str, cache_home: Path) -> None:
    path = SPEC_DIR / f"{name}.yaml"
    built = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert _read_yaml(path) == built
    (cached,) = cache_home.glob(f"{name}-*.json")
    assert _read_yaml(path) == built  # now from the cache
    cached.write_bytes(b"{not json")  # a damaged cache is read from YAML again, and mended
    assert _read_yaml(path) == built
    assert _read_yaml(path) == built and cached.read_bytes().startswith(b"{")


def test_an_edited_file_replaces_its_cache(tmp_path: Path, cache_home: Path) -> None:
    path = tmp_path / "api.yaml"
    path.write_text("openapi: 3.1.0\ninfo: {title: a}\n")
    assert _read_yaml(path)["info"] == {"title": "a"}
    path.write_text("openapi: 3.1.0\ninfo: {title: b}\n")
    assert _read_yaml(path)["info"] == {"title": "b"}
    assert len(list(cache_home.glob("api-*.json"))) == 1


def test_what_json_cannot_hold_is_not_cached(tmp_path: Path, cache_home: Path) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text("released: 2025-01-01\ncodes: {200: ok}\n")
    assert _read_yaml(path) == {"released": datetime.date(2025, 1, 1), "codes": {200: "ok"}}
    assert not list(cache_home.glob("odd-*.json"))
    assert _read_yaml(path) == {"released": datetime.date(2025, 1, 1), "codes": {200: "ok"}}


def test_an_unwritable_cache_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))  # a file where the folder should be
    path = SPEC_DIR / "stack-ai.yaml"
    assert _read_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8"))


def test_without_a_home_there_is_no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory")

    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    path = SPEC_DIR / "hookstream.yaml"
    assert _read_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8"))
