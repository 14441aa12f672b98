"""Benchmark the per-chunk site check alone, step by step (CPU seconds per chunk, warm).

    python benchmarks/bench_check_chunk.py                 # 3 chunks of 100,000 random points
    python benchmarks/bench_check_chunk.py --rows 50000 --chunks 5 --profile 25

The points (``bench_check.make_csv``) are read once; the first chunk warms the process (indexes,
caches, imports) and is not counted. For each later chunk the steps of
:func:`wuzhong_geo.check.check_chunk` (prepare → locate → measure → judge → assemble) are timed
with ``time.process_time`` (CPU of this process: steady on a shared machine) and the median per
step is printed. ``--profile N`` prints the N most expensive functions of one more chunk.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_check import make_csv  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    """Time each step of ``check_chunk`` on warm chunks of random points."""
    from wuzhong_geo.check import assemble, check_chunk
    from wuzhong_geo.chunk import prepare_chunk
    from wuzhong_geo.judge import judge
    from wuzhong_geo.locate import locate
    from wuzhong_geo.measure import measure
    from wuzhong_geo.pipeline import open_check

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows per chunk")
    parser.add_argument("--chunks", type=int, default=3, help="timed chunks (after one warm-up)")
    parser.add_argument("--profile", type=int, default=0, help="print the top N functions of one chunk")
    parser.add_argument("--sort", default="cumulative", help="profile order: cumulative or tottime")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-chunk-") as tmp:
        source = Path(tmp) / "points.csv"
        make_csv(source, args.rows * (args.chunks + 1))
        check = open_check(source)
        ctx, info = check.context, check.info
        sites = list(check.reader.chunks(args.rows))
    check_chunk(sites[0], ctx, info)  # warm-up: indexes, caches
    steps = {"prepare": [], "locate": [], "measure": [], "judge": [], "assemble": [], "total": []}
    for chunk_sites in sites[1:]:
        t0 = time.process_time()
        chunk = prepare_chunk(chunk_sites, info, ctx.buffer_m)
        t1 = time.process_time()
        locate(chunk, ctx)
        t2 = time.process_time()
        measure(chunk, ctx)
        t3 = time.process_time()
        judge(chunk, ctx)
        t4 = time.process_time()
        assemble(chunk, ctx)
        t5 = time.process_time()
        for key, value in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5 - t0)):
            steps[key].append(value)
    print(f"check_chunk, {args.rows:,} rows per chunk, CPU s of {len(sites) - 1} warm chunks, median (min):")
    for key, values in steps.items():
        print(f"  {key:<9} {statistics.median(values):6.3f} ({min(values):.3f})")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        check_chunk(sites[-1], ctx, info)
        profile.disable()
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.profile)


if __name__ == "__main__":
    main()
