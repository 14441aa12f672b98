"""Check chunks in worker processes (``--workers N``) while the parent reads and writes.

The check of a chunk holds the GIL for most of its time, so threads cannot run two at once; forked
processes can. Off by default: on the project's 2-core machine they did not pay (the parent's
reading and writing is the critical path, and pickling chunks costs CPU; ``benchmarks/README.md``).
Workers are forked once the context (layers, indexes, rules) is built, so they share it without
rebuilding, and before the parent starts any thread (a fork copies only the
forking thread: a lock another thread held would stay locked in the child). Where that cannot be
guaranteed — other threads already running, as in the web app's server, or no ``fork`` on this
platform — chunks are checked in the parent, with the same results.
"""

from __future__ import annotations

import multiprocessing
import operator
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import geopandas as gpd
import numpy as np
import pandas as pd

from wuzhong_geo.check import check_chunk
from wuzhong_geo.context import CheckContext
from wuzhong_geo.forksafe import fork_is_safe
from wuzhong_geo.inputs import InputInfo
from wuzhong_geo.settings import STORAGE_CRS

#: What forked workers inherit: the context and the input's description (set before forking).
_INHERITED: tuple[CheckContext, InputInfo] | None = None


#: Inputs from this many rows up to three default chunks are cut into four chunks, so that the
#: writers of one chunk run while the next is checked (10⁵ rows with every output: 8.4 → 6.9 s).
SPLIT_FROM_ROWS = 50_000
#: Rows of the first chunk of a bigger input (:func:`lead_in`).
LEAD_IN_ROWS = 20_000


def plan_chunk_size(rows: int, chunk_size: int | None, default_chunk: int) -> int:
    """Rows per chunk for an input of ``rows`` (``chunk_size`` if given)."""
    if chunk_size is not None:
        return chunk_size
    return -(-rows // 4) if SPLIT_FROM_ROWS <= rows < 3 * default_chunk else default_chunk


def lead_in(chunks: Iterable[gpd.GeoDataFrame], first: int | None = None) -> Iterator[gpd.GeoDataFrame]:
    """``chunks`` with the first cut to ``first`` rows (default :data:`LEAD_IN_ROWS`) when it has more
    than twice that many; its rest follows as a chunk of its own.

    The writers start when the first chunk is checked; a short first chunk starts them early,
    instead of leaving a core idle while a full chunk is checked.
    """
    first = LEAD_IN_ROWS if first is None else first
    items = iter(chunks)
    head = next(items, None)
    if head is None:
        return
    if len(head) > 2 * first:
        yield head.iloc[:first]
        yield head.iloc[first:]
    else:
        yield head
    yield from items


def _check_in_worker(sites: gpd.GeoDataFrame) -> tuple[pd.DataFrame, gpd.GeoDataFrame, bool, float]:
    """Check one chunk in a worker; geometry that is the input's own is not sent back."""
    started = time.perf_counter()
    ctx, info = _INHERITED
    results, zone_parts = check_chunk(sites, ctx, info)
    same = len(results) == len(sites) and all(
        map(operator.is_, results.geometry.values.to_numpy(), sites.geometry.values.to_numpy())
    )
    if same:  # the parent has these geometries: sending them back would pickle every one twice
        results = pd.DataFrame(results.drop(columns="geometry"))
    return results, zone_parts, same, time.perf_counter() - started


class CheckPool:
    """Check chunks in order, in ``workers`` forked processes (0: in this process; at most one per core).

    Use as a context manager created before any thread starts; :meth:`map` yields
    ``(results, zone_parts, seconds)`` per chunk in input order, at most ``workers + 1`` chunks
    in flight (memory stays bounded whatever the input's size).
    """

    def __init__(self, context: CheckContext, info: InputInfo, workers: int):
        self.context = context
        self.info = info
        # more workers than cores only add memory (each holds a chunk in flight)
        self.workers = min(workers, os.cpu_count() or 1) if workers > 0 and fork_is_safe() else 0
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> CheckPool:
        global _INHERITED
        if self.workers:
            _INHERITED = (self.context, self.info)
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"))
            self._pool.submit(int).result()  # forks every worker now, before the caller starts threads
        return self

    def __exit__(self, *exc) -> None:
        global _INHERITED
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        _INHERITED = None

    def map(
        self, chunks: Iterable[gpd.GeoDataFrame]
    ) -> Iterator[tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, float]]:
        """Check each chunk of sites; yield ``(results, zone_parts, seconds checking)`` in order."""
        if self._pool is None:
            for sites in chunks:
                started = time.perf_counter()
                results, zone_parts = check_chunk(sites, self.context, self.info)
                yield results, zone_parts, time.perf_counter() - started
            return
        pending: deque = deque()
        try:
            for sites in chunks:
                pending.append((sites, self._pool.submit(_check_in_worker, sites)))
                if len(pending) > self.workers:
                    yield self._collect(*pending.popleft())
            while pending:
                yield self._collect(*pending.popleft())
        except BrokenProcessPool as exc:  # found when submitting or when collecting, whichever is first
            raise ChildProcessError(
                "核查子进程意外退出（内存不足？）；可用 --workers 0 在单进程中运行 / a check worker process "
                "died (out of memory?); rerun with --workers 0 to check in one process"
            ) from exc

    @staticmethod
    def _collect(sites: gpd.GeoDataFrame, future) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, float]:
        results, zone_parts, same, seconds = future.result()
        if same:
            geometry = gpd.array.from_shapely(np.asarray(sites.geometry.values.to_numpy()), crs=STORAGE_CRS)
            results = gpd.GeoDataFrame(results.assign(geometry=geometry), geometry="geometry", crs=STORAGE_CRS)
        return results, zone_parts, seconds
