"""The disk cache of derived lookups: entries are reused, and the folder stays within its bound."""

from __future__ import annotations

import time

from wuzhong_geo import diskcache

KB = 1024


def _entry(name: str, kb: int):
    return diskcache.cached(name, ("test", name), lambda: b"x" * (kb * KB))


def _names(folder) -> set[str]:
    return {p.name.split("-")[0] for p in folder.glob("*.pkl")}


def test_least_recently_used_entries_go_when_the_folder_is_over_its_bound(tmp_path, monkeypatch):
    monkeypatch.setenv("WUZHONG_GEO_CACHE", str(tmp_path))
    monkeypatch.setenv("WUZHONG_GEO_CACHE_MAX_MB", str(70 / 1024))  # 70 KB: three 30 KB entries do not fit
    for name in ("a", "b"):
        _entry(name, 30)
        time.sleep(0.02)  # modification times order the entries
    assert _names(tmp_path) == {"a", "b"}
    assert _entry("a", 999) == b"x" * (30 * KB)  # a hit: the cached value, and "a" is now the most recent
    time.sleep(0.02)
    _entry("c", 30)
    assert _names(tmp_path) == {"a", "c"}  # "b" was the least recently used
    assert sum(p.stat().st_size for p in tmp_path.glob("*.pkl")) <= 70 * KB


def test_an_entry_over_the_bound_alone_is_still_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("WUZHONG_GEO_CACHE", str(tmp_path))
    monkeypatch.setenv("WUZHONG_GEO_CACHE_MAX_MB", "0.01")
    _entry("old", 5)
    time.sleep(0.02)
    _entry("big", 50)
    assert _names(tmp_path) == {"big"}  # the run that wrote it reads it next time


def test_a_bound_that_is_not_a_number_falls_back_to_the_default(monkeypatch, caplog):
    monkeypatch.setenv("WUZHONG_GEO_CACHE_MAX_MB", "lots")
    assert diskcache.max_bytes() == diskcache.DEFAULT_MAX_MB * 1024 * 1024
    assert "WUZHONG_GEO_CACHE_MAX_MB" in caplog.text
    monkeypatch.delenv("WUZHONG_GEO_CACHE_MAX_MB")
    assert diskcache.max_bytes() == diskcache.DEFAULT_MAX_MB * 1024 * 1024
