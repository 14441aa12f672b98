"""A small on-disk cache of derived lookups (classify grid, nearest-segment indexes) across processes.

Entries are pickles named by a hash of their key; a key includes :func:`data_state` (size and
modification time of the bundled data, the active official boundaries and zone rules, and this
package's source files), so a change of any of them is a new entry. Location:
``$WUZHONG_GEO_CACHE``, else ``$XDG_CACHE_HOME/wuzhong_geo`` or ``~/.cache/wuzhong_geo``;
``WUZHONG_GEO_CACHE=off`` disables it. A cache that cannot be read or written is rebuilt in memory.
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
            return pickle.load(f)
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
    except OSError as exc:
        log.info("disk cache %s not written (%s)", folder, exc)
    return value
