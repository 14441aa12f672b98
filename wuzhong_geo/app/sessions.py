"""Browser sessions of the web app: a private temporary folder each, uploads, check jobs.

A session's files live in its own folder (mode 0700) under one private root made at start-up; the
folder goes when the session ends (idle for :data:`IDLE_S`, or "end session") and the root goes
when the server stops. File names on disk are made here; a name the browser sends is only shown.
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wuzhong_geo.app import pipeline
from wuzhong_geo.app.limits import Limits
from wuzhong_geo.errors import InputError

#: A session with no request for this long (the page pings every minute) is removed.
IDLE_S = 15 * 60
#: File types the check reads (tables, vector files, Shapefile parts, 界址点 TXT).
INPUT_SUFFIXES = frozenset({
    ".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".geojson", ".json", ".gpkg", ".zip",
    ".fgb", ".kml", ".parquet", ".shp", ".dbf", ".shx", ".prj", ".cpg", ".qix", ".sbn", ".sbx",
})
#: Official boundaries: one file (a zipped Shapefile, GeoPackage or GeoJSON).
BOUNDARY_SUFFIXES = frozenset({".zip", ".gpkg", ".geojson", ".json", ".shp"})
_ZIP_SUFFIXES = frozenset({".zip", ".xlsx", ".xlsm"})


def safe_name(client_name: str, allowed: frozenset[str]) -> str:
    """Return a file name made from the letters of ``client_name`` (never a path); InputError if its type is not read."""
    base = re.split(r"[\\/]", client_name or "")[-1]
    base = unicodedata.normalize("NFKC", base)
    stem, dot, suffix = base.rpartition(".")
    suffix = f".{suffix.lower()}" if dot else ""
    if suffix not in allowed:
        shown = base[:80] or "(无名文件)"
        kinds = " ".join(sorted(allowed))
        raise InputError(
            f"{shown}: 不支持的文件类型 / unsupported file type {suffix or '(none)'!r}; use one of {kinds}")
    stem = re.sub(r"[^\w\-]+", "_", stem, flags=re.UNICODE).strip("_.")[:60] or "upload"
    return f"{stem}{suffix}"


@dataclass
class Job:
    """One check: its input, options, output folder and progress."""

    id: str
    source: str
    out_dir: Path
    state: str = "running"  # running | done | error
    done: int = 0
    total: int = 0
    summary: dict | None = None
    error: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    boundaries: dict | None = None
    _results: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def results(self):
        """The results table (read once from results.gpkg), with a text column for search."""
        with self._lock:
            if self._results is None:
                frame = pipeline.read_results(self.out_dir)
                text = [frame[c].astype("string").fillna("") for c in frame.columns if c != "geometry"]
                haystack = text[0].str.cat(text[1:], sep="\u241f") if text else None
                self._results = (frame, haystack.str.lower() if haystack is not None else None)
            return self._results

    def as_dict(self) -> dict:
        """Return the job's state for the page."""
        return {"id": self.id, "source": self.source, "state": self.state, "done": self.done,
                "total": self.total, "summary": self.summary, "error": self.error,
                "seconds": round((self.finished or time.time()) - self.started, 2),
                "boundaries": self.boundaries}


@dataclass
class Session:
    """One browser's uploads, boundaries and checks, in a private folder."""

    id: str
    root: Path
    limits: Limits
    seen: float = field(default_factory=time.time)
    boundaries: Path | None = None
    boundaries_name: str | None = None
    uploads: dict[str, Path] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    used_bytes: int = 0

    def new_dir(self, kind: str) -> tuple[str, Path]:
        """Make a fresh sub-folder for an upload, a job or boundaries; return (id, path)."""
        key = secrets.token_hex(8)
        path = self.root / f"{kind}-{key}"
        path.mkdir(mode=0o700)
        return key, path

    async def receive(self, stream, folder: Path, name: str, declared: int | None) -> Path:
        """Write a request body into ``folder/name`` within the limits; InputError when over."""
        limit = self.limits.max_upload_bytes
        room = self.limits.max_session_bytes - self.used_bytes
        if declared is not None and declared > limit:
            raise InputError(self.limits.too_big(name, declared))
        if declared is not None and declared > room:
            raise InputError(self.limits.session_full())
        target = folder / name
        size = 0
        try:
            with open(target, "xb") as f:
                async for chunk in stream:
                    size += len(chunk)
                    if size > limit:  # a body longer than it said, or no length given
                        raise InputError(self.limits.too_big(name, size, partial=True))
                    if size > room:
                        raise InputError(self.limits.session_full())
                    f.write(chunk)
            if target.suffix.lower() in _ZIP_SUFFIXES:
                self.limits.check_archive(target)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        self.used_bytes += size
        return target

    def input_file(self, upload_id: str) -> Path:
        """The file of an upload the check reads (the .shp of a dropped Shapefile's parts)."""
        folder = self.uploads.get(upload_id)
        if folder is None:
            raise InputError("上传已过期，请重新拖入文件 / the upload has expired; drop the file again")
        files = sorted(p for p in folder.iterdir() if p.is_file())
        shp = [p for p in files if p.suffix.lower() == ".shp"]
        if len(shp) == 1:
            return shp[0]
        others = [p for p in files if p.suffix.lower() not in (".dbf", ".shx", ".prj", ".cpg", ".qix",
                                                               ".sbn", ".sbx")]
        if len(others) != 1:
            raise InputError(
                "请一次只拖入一个文件（Shapefile 可把 .shp/.dbf/.shx/.prj 一起拖入，或压缩为 zip）/ "
                "drop one file at a time (a Shapefile's .shp/.dbf/.shx/.prj together, or zipped)")
        return others[0]

    def boundaries_info(self) -> dict:
        """Which town boundaries this session's answers use."""
        return pipeline.boundaries_label(self.boundaries, self.boundaries_name)


class Sessions:
    """Every session of the running server, under one private temporary root."""

    def __init__(self, limits: Limits, boundaries: Path | None = None) -> None:
        self.limits = limits
        self.boundaries = Path(boundaries) if boundaries else None
        self.root = Path(tempfile.mkdtemp(prefix="wuzhong-geo-app-"))  # mode 0700
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def get(self, session_id: str | None) -> Session | None:
        """Return the live session ``session_id`` (touching it), or None."""
        self.sweep()
        with self._lock:
            session = self._sessions.get(session_id or "")
            if session is not None:
                session.seen = time.time()
            return session

    def create(self) -> Session:
        """Start a session with a fresh private folder."""
        session_id = secrets.token_urlsafe(24)
        folder = self.root / secrets.token_hex(8)
        folder.mkdir(mode=0o700)
        session = Session(id=session_id, root=folder, limits=self.limits, boundaries=self.boundaries,
                          boundaries_name=self.boundaries.name if self.boundaries else None)
        with self._lock:
            self._sessions[session_id] = session
        return session

    def end(self, session_id: str) -> None:
        """End a session and remove its folder (a running check finishes into nothing)."""
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is not None:
            shutil.rmtree(session.root, ignore_errors=True)

    def sweep(self, now: float | None = None) -> None:
        """End every session idle for longer than :data:`IDLE_S`."""
        now = time.time() if now is None else now
        with self._lock:
            stale = [k for k, s in self._sessions.items() if now - s.seen > IDLE_S
                     and not any(j.state == "running" for j in s.jobs.values())]
        for key in stale:
            self.end(key)

    def close(self) -> None:
        """Remove every session and the root folder (server exit)."""
        with self._lock:
            self._sessions.clear()
        shutil.rmtree(self.root, ignore_errors=True)
