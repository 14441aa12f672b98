"""A small on-disk cache of derived lookups (classify grid, nearest-segment indexes) across processes.

Entries are pickles named by a hash of their key; a key includes :func:`data_state` (size and
modification time of the bundled data, the active official boundaries and zone rules, and this
package's source files), so a change of any of them is a new entry. Location:
``$WUZHONG_GEO_CACHE``, else ``$XDG_CACHE_HOME/wuzhong_geo`` or ``~/.cache/wuzhong_geo``;
``WUZHONG_GEO_CACHE=off`` disables it. A cache that cannot be read or written is rebuilt in memory.

The entries of one state take a few hundred MB, and every new version of the data or the code
makes new ones, so the folder is bounded: after an entry is written, the least recently used
entries are deleted until the folder holds at most ``$WUZHONG_GEO_CACHE_MAX_MB`` (default
:data:`DEFAULT_MAX_MB`) of entries. Reading an entry marks it used.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from wuzhong_geo.settings import data_dir

log = logging.getLogger(__name__)
T = TypeVar("T")
_PACKAGE = Path(__file__).resolve().parent
#: Default bound of the cache folder's entries, in MB (``$WUZHONG_GEO_CACHE_MAX_MB``).
DEFAULT_MAX_MB = 2048


def cache_dir() -> Path | None:
    """The cache folder, or None when caching is off."""
    value = os.environ.get("WUZHONG_GEO_CACHE")
    if value:
        return None if value.lower() in ("off", "0", "none", "false") else Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "wuzhong_geo"


def stamp(path) -> tuple:
    """(path, modification time in ns, size) of a file; None fields when it is missing."""
    try:
        info = os.stat(path)
    except OSError:
        return (str(path), None, None)
    return (str(path), info.st_mtime_ns, info.st_size)


def data_state() -> tuple:
    """What derived lookups depend on: bundled data, active boundaries/zone rules, package code."""
    files = sorted(p for sub in ("base", "plan") for p in (data_dir() / sub).glob("*") if p.is_file())
    code = sorted(_PACKAGE.glob("*.py"))
    layers = sys.modules.get("wuzhong_geo.layers")  # not imported yet: nothing was switched
    boundaries = layers.active_boundaries() if layers else None
    zone_rules = layers.active_zone_rules() if layers else None
    return (
        tuple(stamp(p) for p in files),
        tuple(stamp(p) for p in code),
        stamp(boundaries) if boundaries else None,
        stamp(zone_rules) if zone_rules else None,
    )


def cached(name: str, key: object, build: Callable[[], T]) -> T:
    """``build()``'s value for ``key``, from the disk cache when there (stored there when not)."""
    folder = cache_dir()
    if folder is None:
        return build()
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:24]
    path = folder / f"{name}-{digest}.pkl"
    try:
        with open(path, "rb") as f:
            value = pickle.load(f)
        _touch(path)
        return value
    except FileNotFoundError:
        pass
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign entry: rebuild it
        log.warning("disk cache %s unreadable (%s); rebuilding", path, exc)
    value = build()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}-")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)  # atomic: concurrent processes never see half an entry
        prune(folder, keep=path)
    except OSError as exc:
        log.info("disk cache %s not written (%s)", folder, exc)
    return value


def max_bytes() -> int:
    """The bound of the cache folder's entries, from ``$WUZHONG_GEO_CACHE_MAX_MB``."""
    value = os.environ.get("WUZHONG_GEO_CACHE_MAX_MB", "")
    try:
        mb = float(value) if value.strip() else DEFAULT_MAX_MB
    except ValueError:
        log.warning("WUZHONG_GEO_CACHE_MAX_MB=%r is not a number; using %d", value, DEFAULT_MAX_MB)
        mb = DEFAULT_MAX_MB
    return int(max(mb, 0) * 1024 * 1024)


def prune(folder: Path, keep: Path | None = None) -> list[Path]:
    """Delete the least recently used entries until ``folder`` holds at most :func:`max_bytes`."""
    entries = []
    for path in folder.glob("*.pkl"):
        try:
            info = path.stat()
        except OSError:  # deleted by a concurrent process meanwhile
            continue
        entries.append((info.st_mtime_ns, info.st_size, path))
    total, limit, removed = sum(e[1] for e in entries), max_bytes(), []
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        if keep is not None and path == keep:
            continue  # the entry just written stays, even when it alone is over the bound
        try:
            path.unlink()
        except OSError:
            continue
        total -= size
        removed.append(path)
    if removed:
        log.info("disk cache %s: %d least recently used entries removed", folder, len(removed))
    return removed


def _touch(path: Path) -> None:
    """Mark an entry as used now (its modification time orders :func:`prune`)."""
    try:
        os.utime(path)
    except OSError:  # a read-only cache still serves its entries
        pass
