"""Benchmark each output writer of ``wuzhong-geo check`` alone, on one checked chunk.

    python benchmarks/bench_writers.py                    # 100,000 points, every format
    python benchmarks/bench_writers.py --rows 20000 --formats xlsx,gpkg --repeat 3

The points (``bench_check.make_csv``) are checked once; then each format is written on its own by
:class:`wuzhong_geo.outputs.ResultWriter` into a fresh folder, ``--repeat`` times, so its cost is
seen apart from the check and from the other writers (in a real run they share the CPU). Printed
per format: wall seconds, CPU seconds of the process (user+sys: the writer threads and the C
libraries they call), and the file size. The first format written also pays the shared Arrow
views of the chunk (text columns as dictionaries, WKB) and any first import (Pillow for html; matplotlib too
when the report's base map is not in the disk cache yet).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_check import make_csv  # noqa: E402


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def main(argv: list[str] | None = None) -> None:
    """Check ``--rows`` random points once and time each chosen writer alone."""
    from wuzhong_geo.check import check_chunk
    from wuzhong_geo.outputs import FORMAT_FILES, ResultWriter
    from wuzhong_geo.outputs.summary import Counts
    from wuzhong_geo.pipeline import open_check, summarise

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--formats", default=",".join(FORMAT_FILES))
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-writers-") as tmp:
        source = Path(tmp) / "points.csv"
        make_csv(source, args.rows)
        check = open_check(source, chunk_size=max(args.rows, 1))
        chunks = [check_chunk(sites, check.context, check.info) for sites in check.reader.chunks(args.rows)]
        counts = Counts()
        for sites, _ in chunks:
            counts.add(sites)
        print(f"{args.rows:,} rows checked; writing each format alone ({args.repeat}x)")
        for fmt in [f.strip() for f in args.formats.split(",") if f.strip()]:
            for _ in range(args.repeat):
                folder = Path(tmp) / f"out-{fmt}"
                folder.mkdir()
                wall, cpu = time.perf_counter(), _cpu()
                writer = ResultWriter(folder, check.columns(), (fmt,), name_col=check.info.name_col, rows=args.rows)
                for sites, parts in chunks:
                    writer.add(sites, parts)
                writer.close(summarise(check, counts, outputs=writer.outputs()))
                wall, cpu = time.perf_counter() - wall, _cpu() - cpu
                size = sum(f.stat().st_size for f in folder.iterdir()) / 1e6
                print(f"  {fmt:8s} wall {wall:6.2f} s   cpu {cpu:6.2f} s   {size:8.1f} MB")
                shutil.rmtree(folder)


if __name__ == "__main__":
    main()
