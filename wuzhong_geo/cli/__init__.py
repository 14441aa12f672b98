"""Command line interface ``wuzhong-geo``: a thin shell over the Python API."""

from __future__ import annotations

import atexit
import gc
import os
import sys

# A command is one batch run, so three process-wide settings are tuned for it before numpy and pyarrow
# load (each measured on a 10⁵-row check; a variable the user has set is kept):
# - OpenBLAS threads spin while they wait for work that a check never gives them;
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# - Arrow's mimalloc pool asks for huge pages and the kernel zeroes each 2 MB page it hands out
#   (0.3–0.7 s of system time); the system allocator reuses the memory it frees;
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
# - the cyclic garbage collector ran 500 times (0.37 s), scanning the layers and indexes each full pass:
#   a run allocates millions of short-lived containers, few of them cyclic.
gc.set_threshold(100_000, 10, 10)

from wuzhong_geo.cli import all as _all  # noqa: F401  (registers the main job)
from wuzhong_geo.cli import check as _check  # noqa: F401  (registers the command)
from wuzhong_geo.cli import indicators as _indicators  # noqa: F401  (registers indicators, join)
from wuzhong_geo.cli import layers as _layers  # noqa: F401  (registers the command)
from wuzhong_geo.cli import maps as _maps  # noqa: F401  (registers maps, atlas)
from wuzhong_geo.cli import network as _network  # noqa: F401  (osm fetch/import, coverage)
from wuzhong_geo.cli import raster as _raster  # noqa: F401  (rasterize, zonal)
from wuzhong_geo.cli import serve as _serve  # noqa: F401  (the local web app)
from wuzhong_geo.cli import webmap as _webmap  # noqa: F401  (registers the command)
from wuzhong_geo.cli import where as _where  # noqa: F401  (registers the command)
from wuzhong_geo.cli.app import app


def main() -> None:
    """Run the ``wuzhong-geo`` command."""
    try:
        app()
    except SystemExit as done:
        _exit(done.code)
    _exit(0)


def _exit(code) -> None:
    """End the process without tearing down its objects one by one.

    A check of 10⁶ rows leaves ~1 GB of objects (indexes, caches) whose teardown took 0.7 s after
    the last file was written (measured). Exit handlers still run (temporary folders, logging).
    """
    if code is not None and not isinstance(code, int):  # SystemExit("text"): print it, status 1
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can reach it
            pass
    os._exit(code or 0)
