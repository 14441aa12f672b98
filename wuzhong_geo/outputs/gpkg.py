"""results.gpkg: layers written in large batches into typed tables (see :mod:`wuzhong_geo.gpkg`).

Chunks arrive as Arrow tables (text decoded from the chunk's dictionaries in Arrow's C++, no pandas
frame) and go to GDAL through its Arrow interface. They are buffered up to :data:`FLUSH_ROWS` rows
per layer and written together: a table GDAL creates in one go gets its spatial index built once at
the end, while every appended row of an existing table updates the index through triggers (twice
the time). SQLite runs without fsync and without a rollback journal while the file is written: it
lives in the run's temporary folder, which is dropped whole if the run fails. Its pages are 64 KiB
(SQLite's largest; GDAL's default is 4 KiB): fewer B-tree pages to split and balance while rows are
inserted (about 12 % less CPU, a 10 % smaller file, the same tables and values).

pyogrio holds the GIL while GDAL writes (1.1 s per 10⁵ result rows, measured with ``py-spy --gil``),
which stops the check and every other writer meanwhile. :func:`open_writer` therefore runs the writer
in a forked child process (:class:`GpkgProcess`) when forking is safe: chunks reach it as Arrow IPC
streams through a pipe, and its errors are raised in the parent. There the results' points are not
buffered: they go to GDAL as one stream while chunks arrive (one new table, so its spatial index is
still built once, at the end). Otherwise (other threads running, as in the web app's server; no
``fork``) :class:`GpkgWriter` writes on the caller's thread.
"""

from __future__ import annotations

import importlib
import multiprocessing
import resource
import signal
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyogrio
import shapely

from wuzhong_geo import gpkg as typed
from wuzhong_geo.forksafe import fork_is_safe

#: Rows buffered per layer before they are written (at most about 300 MB of results in memory).
FLUSH_ROWS = 250_000
#: GDAL settings while results.gpkg is written (see the module doc).
_FAST_SQLITE = {"OGR_SQLITE_SYNCHRONOUS": "OFF", "OGR_SQLITE_JOURNAL": "OFF", "OGR_SQLITE_PRAGMA": "page_size=65536"}


class GpkgWriter:
    """Append chunks (Arrow attributes and shapely geometries) to named layers of one GeoPackage."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.crs = None
        self.cpu_seconds = 0.0  # CPU time spent outside this process (none: it writes here)
        self.flush_rows: int | None = FLUSH_ROWS  # None: hold every row until close
        self._buffer: dict[str, list[tuple[pa.Table, np.ndarray, pa.Array | None]]] = {}

    def append(self, layer: str, table: pa.Table, geoms, crs, wkb: pa.Array | None = None) -> None:
        """Add rows ``table`` with geometries ``geoms`` in ``crs`` (and their ``wkb``, if known) to
        ``layer`` (tables ``results_points``, ...); empty chunks are skipped."""
        if not len(table):
            return
        self.crs = crs
        parts = self._buffer.setdefault(layer, [])
        parts.append((table, np.asarray(geoms), wkb))
        if self.flush_rows is not None and sum(len(t) for t, _, _ in parts) >= self.flush_rows:
            self._flush(layer)

    def _flush(self, layer: str) -> None:
        parts = self._buffer.pop(layer, [])
        if not parts:
            return
        if len(parts) == 1:
            table, geoms, wkb = parts[0]
        else:
            table = pa.concat_tables([t for t, _, _ in parts])
            geoms = np.concatenate([g for _, g, _ in parts])
            wkb = None if any(w is None for _, _, w in parts) else pa.concat_arrays([w for _, _, w in parts])
        with _gdal_options(_FAST_SQLITE):
            typed.append_arrow(table, geoms, self.path, layer, self.crs, wkb=wkb)

    def close(self) -> None:
        """Write what is buffered and give every table its default QGIS style."""
        for layer in list(self._buffer):
            self._flush(layer)
        from wuzhong_geo.qgis_styles import style_feature_tables

        if self.path.exists():
            style_feature_tables(self.path)

    def abort(self) -> None:
        """Drop what is buffered (the folder is removed by its owner)."""
        self._buffer.clear()


def open_writer(path: Path) -> GpkgWriter | GpkgProcess:
    """A writer of ``path``: in a child process when this process may fork, else in this one."""
    return GpkgProcess(path) if fork_is_safe() else GpkgWriter(path)


class GpkgProcess:
    """:class:`GpkgWriter` run by a forked child process; the same methods, called from one thread.

    :meth:`append` returns once the child has the chunk; an error of the child's is raised by
    :meth:`close` (or by the next call, if the child has ended).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.cpu_seconds = 0.0  # the child's CPU time, known after close()
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, self.path), name="write-gpkg", daemon=True)
        self._process.start()
        child.close()

    def append(self, layer: str, table: pa.Table, geoms, crs, wkb: pa.Array | None = None) -> None:
        """Send rows ``table`` with their geometry to the child (as :meth:`GpkgWriter.append`)."""
        if not len(table):
            return
        if wkb is None:
            wkb = pa.array(shapely.to_wkb(np.asarray(geoms)), type=pa.binary(), from_pandas=True)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, pa.schema([*table.schema, pa.field(_WKB, wkb.type)])) as stream:
            stream.write_table(table.append_column(_WKB, wkb))
        self._send(("append", layer, crs, bool(_plain_points(np.asarray(geoms)).all())), sink.getvalue())

    def close(self) -> None:
        """Finish the file in the child and wait for it; raise the child's error, if any."""
        self._send(("close",))
        status, value = self._reply()
        if status != "done":
            raise value
        self.cpu_seconds = value

    def abort(self) -> None:
        """Stop the child without finishing the file (the folder is removed by its owner)."""
        if self._process.is_alive():
            self._process.kill()
        self._finish()

    def _send(self, message: tuple, data: pa.Buffer | None = None) -> None:
        try:
            self._conn.send(message)
            if data is not None:
                self._conn.send_bytes(memoryview(data))
        except (BrokenPipeError, ConnectionResetError):  # the child is gone: its error says why, if it sent one
            raise self._reply()[1] from None

    def _reply(self) -> tuple[str, object]:
        """The child's last word, ("done", its CPU seconds) or ("error", exception), once it has ended."""
        try:
            reply = self._conn.recv()
        except (EOFError, OSError):  # it ended without one
            reply = None
        self._finish()
        if reply is None:
            return "error", _died(self.path, self._process.exitcode)
        return reply if reply[0] == "done" else ("error", _rebuilt(reply[1]))

    def _finish(self) -> None:
        self._process.join()
        self._conn.close()


#: The column that carries the geometry's WKB from parent to child.
_WKB = "__wkb__"


def _plain_points(geoms: np.ndarray) -> np.ndarray:
    """Which geometries are non-empty 2D points: the rows of the streamed points table."""
    return (shapely.get_type_id(geoms) == 0) & ~shapely.is_empty(geoms) & ~shapely.has_z(geoms)


def _died(path: Path, exitcode: int | None) -> OSError:
    return OSError(f"{path.name}: 写入进程意外退出（内存或磁盘不足？）/ the GeoPackage writer process died "
                   f"(exit code {exitcode}; out of memory or disk space?)")


def _serve(conn, path: Path) -> None:
    """The child: write what the parent sends, report the outcome of close (or the first error) and exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops this process
    child = _Child(conn, path)
    try:
        child.run()
    except EOFError:  # the parent is gone: nobody will read the file
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    conn.send(("done", usage.ru_utime + usage.ru_stime) if child.error is None else ("error", _described(child.error)))
    conn.close()


class _Child:
    """The child's work: the results' points go to GDAL as one stream while chunks arrive
    (:func:`wuzhong_geo.gpkg.stream_points`); other rows and layers are buffered by a :class:`GpkgWriter`
    and written at the end, after the stream's table is finished."""

    def __init__(self, conn, path: Path):
        self.conn = conn
        self.path = path
        self.writer = GpkgWriter(path)
        self.error: BaseException | None = None
        self.closed = False

    def run(self) -> None:
        """Receive until the parent closes; stream points once a chunk of results holds some."""
        while (chunk := self._receive()) is not None and self.error is None:
            try:
                head = self._points(*chunk)
            except BaseException as exc:  # noqa: BLE001 - handed to the parent, raised there
                self.error = exc
                break
            if head is not None:
                self._stream(head, chunk[3])
                break
        while not self.closed:  # after an error: read on until close, where the parent hears of it
            self._receive()
        if self.error is None:
            try:
                self.writer.close()
            except BaseException as exc:  # noqa: BLE001 - handed to the parent, raised there
                self.error = exc

    def _receive(self) -> tuple | None:
        """The next chunk (layer, table, geoms, crs, wkb); None at close or after an error decoding it.

        ``geoms`` is None for a chunk of the results whose rows are all plain points (the parent says
        so): such a chunk goes to the stream as it is, and decoding its WKB would cost 0.09 s per 10⁵ rows.
        """
        message = self.conn.recv()
        if message[0] == "close":
            self.closed = True
            return None
        data = self.conn.recv_bytes()
        if self.error is not None:
            return None
        try:
            _, layer, crs, points_only = message
            table = pa.ipc.open_stream(data).read_all()
            wkb = table.column(_WKB).combine_chunks()
            plain = layer == "results" and points_only
            geoms = None if plain else shapely.from_wkb(wkb.to_numpy(zero_copy_only=False))
            return layer, table.drop_columns([_WKB]), geoms, crs, wkb
        except BaseException as exc:  # noqa: BLE001 - handed to the parent, raised there
            self.error = exc
            return None

    def _points(self, layer: str, table: pa.Table, geoms: np.ndarray | None, crs, wkb: pa.Array) -> pa.Table | None:
        """The chunk's 2D points of the results layer as GDAL takes them; its other rows go to the buffer."""
        if geoms is not None:  # None: every row a plain point (see _receive)
            points = _plain_points(geoms)
            if layer != "results" or not points.any():
                self.writer.append(layer, table, geoms, crs, wkb)
                return None
            if not points.all():
                others = ~points
                self.writer.append(layer, table.filter(pa.array(others)), geoms[others], crs)
                table, wkb = table.filter(pa.array(points)), wkb.filter(pa.array(points))
        return typed.gdal_types(table).append_column("geometry", wkb)

    def _stream(self, head: pa.Table, crs) -> None:
        """Write ``head`` and the points of every later chunk as one table, until the parent closes."""
        self.writer.flush_rows = None  # the file is GDAL's stream's until it ends: buffer the rest till then

        def batches():
            yield from head.to_batches()
            while (chunk := self._receive()) is not None:
                points = self._points(*chunk)
                if points is not None:
                    yield from points.cast(head.schema).to_batches()

        try:
            with _gdal_options(_FAST_SQLITE):
                typed.stream_points(pa.RecordBatchReader.from_batches(head.schema, batches()), self.path, "results", crs)
        except BaseException as exc:  # noqa: BLE001 - handed to the parent, raised there
            self.error = self.error or exc


def _described(error: BaseException) -> tuple[str, str, str]:
    """What the parent needs to raise ``error`` again: its class's module and name, and its text."""
    return type(error).__module__, type(error).__qualname__, str(error)


def _rebuilt(described: tuple[str, str, str]) -> Exception:
    """The child's error as an instance of its own class when that takes its text, else an OSError.

    Exceptions are not pickled: whether one unpickles depends on its constructor (and on what the
    process has registered with pickle), and the parent must always get an error that says what happened.
    """
    module, name, text = described
    try:
        kind = getattr(importlib.import_module(module), name)
        if isinstance(kind, type) and issubclass(kind, Exception):
            error = kind(text)
            if str(error) == text:
                return error
    except Exception:  # noqa: BLE001 - any failure to rebuild it: its text, as an OSError
        pass
    return OSError(f"{name}: {text}")


@contextmanager
def _gdal_options(options: dict[str, str]):
    """Set GDAL config options for the block, then restore them."""
    old = {key: pyogrio.get_gdal_config_option(key) for key in options}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(old)
