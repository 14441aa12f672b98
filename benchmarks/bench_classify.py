"""Throughput of point classification: geopandas.sjoin vs classify_points vs the Dask engine.

    python benchmarks/bench_classify.py                      # 1e5, 1e6, 1e7 points
    python benchmarks/bench_classify.py --sizes 1e5,1e6      # quicker
    python benchmarks/bench_classify.py --sjoin-max 1e6      # sjoin above 1e6: extrapolated, labelled

Points are uniform over the district's bounding box (``layers.district().total_bounds``) with a
fixed seed.  Every measurement runs in a fresh child process, one after the other:

* ``sjoin``          points_from_xy + ``geopandas.sjoin(predicate="intersects")`` against the
                     town-zone parts plus Taihu: the baseline, measured in the same run.
* ``memory``         :func:`wuzhong_geo.classify.classify_points` on the lon/lat arrays (the lookup
                     is built before the clock starts; its one-off cost is printed under the table).
* ``dask``           :func:`wuzhong_geo.check_dask.check_dask` (the whole check) on a local cluster of
                     two worker processes: partitioned GeoParquet in, each row read like the
                     in-memory check, classified, partitioned GeoParquet + summary.json out.
* ``dask-classify``  the same cluster, ``classify_points`` per partition of the GeoParquet, counts
                     only: the distributed classifier without the check's reading and writing.

Cluster start-up (printed) and worker warm-up (imports, lookup build) are not timed.
Peak memory: sjoin/memory: the peak RSS of the process during the timed call minus its RSS just
before (the input arrays are not counted); Dask: the workers' peak RSS during the run (absolute,
summed) plus the client's rise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ENGINES = ("sjoin", "memory", "dask", "dask-classify")


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _reset_peak() -> None:
    """Reset this process's peak RSS (Linux: VmHWM) so the next peak is the timed call's own."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_mb() -> float:
    return _status_mb("VmHWM")


def points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points over the district's bounding box."""
    from wuzhong_geo import layers

    west, south, east, north = layers.district().total_bounds
    rng = np.random.default_rng(seed)
    return rng.uniform(west, east, n), rng.uniform(south, north, n)


# --- children: one measurement each -------------------------------------------------------------

def child_sjoin(n: int, seed: int) -> dict:
    import geopandas as gpd
    import pandas as pd

    from wuzhong_geo import layers

    lon, lat = points(n, seed)
    right = pd.concat([layers.town_zone_parts()[["code", "zone", "geometry"]],
                       layers.taihu()[["geometry"]].assign(code=None, zone="taihu")], ignore_index=True)
    right = gpd.GeoDataFrame(right, geometry="geometry", crs=layers.taihu().crs)
    small = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon[:1000], lat[:1000]), crs=right.crs)
    gpd.sjoin(small, right, how="left", predicate="intersects")  # warm imports and caches
    before = _rss_mb()
    _reset_peak()
    start = time.perf_counter()
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=right.crs)
    joined = gpd.sjoin(pts, right, how="left", predicate="intersects")
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": _peak_mb() - before, "rows_out": len(joined)}


def child_memory(n: int, seed: int) -> dict:
    from wuzhong_geo import classify

    lon, lat = points(n, seed)
    start = time.perf_counter()
    classify.classify_points(lon[:10], lat[:10])  # builds (and caches) the lookup
    build = time.perf_counter() - start
    before = _rss_mb()
    _reset_peak()
    start = time.perf_counter()
    frame = classify.classify_points(lon, lat)
    seconds = time.perf_counter() - start
    lookup = classify._lookup(classify.unit_polygons())
    return {"seconds": seconds, "peak_mb": _peak_mb() - before, "build_s": build,
            "mixed_cells": len(lookup.mixed_flat), "cells": lookup.nx * lookup.ny,
            "status": {k: int(v) for k, v in frame["status"].value_counts().items()}}


def _classify_counts(frame, units):
    from wuzhong_geo import classify

    found = classify.classify_points(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy(), units=units)
    return found["status"].value_counts().to_frame("count").reset_index()


def child_dask(n: int, seed: int, workers: int, partitions: int | None, classify_only: bool) -> dict:
    import dask
    import dask_geopandas
    import geopandas as gpd
    import pandas as pd
    from distributed import Client, LocalCluster

    from wuzhong_geo import check_dask, classify

    lon, lat = points(n, seed)
    parts = partitions or max(2 * workers, int(np.ceil(n / 500_000)))
    with tempfile.TemporaryDirectory(prefix="bench_dask_") as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        bounds = np.linspace(0, n, parts + 1).astype(int)
        for i in range(parts):  # partitioned GeoParquet of points, as analysts would hand it over
            sl = slice(bounds[i], bounds[i + 1])
            gpd.GeoDataFrame({"id": np.arange(bounds[i], bounds[i + 1])},
                             geometry=gpd.points_from_xy(lon[sl], lat[sl]), crs="EPSG:4326"
                             ).to_parquet(src / f"part.{i:04d}.parquet")
        del lon, lat
        warm = Path(tmp) / "warm"
        warm.mkdir()
        for i in range(workers):
            gpd.GeoDataFrame({"id": [i]}, geometry=gpd.points_from_xy([120.5], [31.2]), crs="EPSG:4326"
                             ).to_parquet(warm / f"part.{i}.parquet")
        start = time.perf_counter()
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
        startup = time.perf_counter() - start
        try:
            # Warm-up (untimed): every worker imports the package and builds its lookup once.
            units = classify.unit_polygons()
            check_dask.check_dask(str(warm), Path(tmp) / "warm_out", client=client, partitions=workers,
                                 formats="parquet")
            client.run(lambda u: __import__("wuzhong_geo.classify").classify.classify_points(
                [120.5], [31.2], units=u), units)
            client.run(_reset_peak)
            before = _rss_mb()
            _reset_peak()
            start = time.perf_counter()
            if classify_only:
                frame = dask_geopandas.read_parquet(str(src))
                meta = pd.DataFrame({"status": pd.Series([], dtype="str"), "count": pd.Series([], dtype="int64")})
                counts = frame.map_partitions(_classify_counts, dask.delayed(units), meta=meta).compute()
                rows = int(counts["count"].sum())
            else:
                summary = check_dask.check_dask(str(src), Path(tmp) / "out", client=client, formats="parquet")
                rows = summary["rows"]
            seconds = time.perf_counter() - start
            worker_peaks = client.run(_peak_mb)
        finally:
            client.close()
            cluster.close()
    return {"seconds": seconds, "peak_mb": sum(worker_peaks.values()) + max(_peak_mb() - before, 0.0),
            "startup_s": startup, "partitions": parts, "rows_out": rows}


def run_child(engine: str, n: int, args) -> dict:
    cmd = [sys.executable, __file__, "--child", engine, "--n", str(n), "--seed", str(args.seed),
           "--workers", str(args.workers)]
    if args.partitions:
        cmd += ["--partitions", str(args.partitions)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} at {n}: {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- the table ------------------------------------------------------------------------------------

def _fmt_n(n: int) -> str:
    exp = int(np.rint(np.log10(n)))
    return f"10^{exp}" if 10**exp == n else f"{n:,}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1e5,1e6,1e7", help="comma-separated point counts")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--sjoin-max", type=float, default=1e7,
                        help="largest size sjoin really runs at; above it, extrapolated (labelled)")
    parser.add_argument("--seed", type=int, default=20210101)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    parser.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        if args.child == "sjoin":
            out = child_sjoin(args.n, args.seed)
        elif args.child == "memory":
            out = child_memory(args.n, args.seed)
        else:
            out = child_dask(args.n, args.seed, args.workers, args.partitions,
                             classify_only=args.child == "dask-classify")
        print(json.dumps(out))
        return

    sizes = [int(float(s)) for s in args.sizes.split(",")]
    engines = [e for e in args.engines.split(",") if e]
    results: dict[tuple[str, int], dict] = {}
    for n in sizes:
        for engine in engines:
            if engine == "sjoin" and n > args.sjoin_max:
                continue
            print(f"… {engine:6s} {_fmt_n(n)}", file=sys.stderr, flush=True)
            results[(engine, n)] = run_child(engine, n, args)
    # sjoin above --sjoin-max: linear extrapolation from the largest measured size.
    measured = [n for n in sizes if ("sjoin", n) in results]
    for n in sizes:
        if "sjoin" in engines and ("sjoin", n) not in results and measured:
            ref = results[("sjoin", max(measured))]
            scale = n / max(measured)
            results[("sjoin", n)] = {"seconds": ref["seconds"] * scale, "peak_mb": ref["peak_mb"] * scale,
                                     "extrapolated_from": max(measured)}

    cpu = os.cpu_count()
    print(f"\nPoint classification, uniform points over the district bbox, seed {args.seed}, "
          f"{cpu} CPUs, {args.workers} Dask workers\n")
    print("| points | engine | seconds | points/s | × sjoin | peak memory (MB) |")
    print("|---:|---|---:|---:|---:|---:|")
    for n in sizes:
        base = results.get(("sjoin", n))
        for engine in engines:
            r = results.get((engine, n))
            if r is None:
                continue
            label = {"sjoin": "geopandas.sjoin (baseline)", "memory": "classify_points (default engine)",
                     "dask": f"Dask engine, {args.workers} workers: check, GeoParquet in/out",
                     "dask-classify": f"Dask, {args.workers} workers: classify_points per partition"}[engine]
            if "extrapolated_from" in r:
                label += f" — extrapolated ×{n // r['extrapolated_from']} from {_fmt_n(r['extrapolated_from'])}"
            ratio = f"{base['seconds'] / r['seconds']:.1f}" if base else "–"
            print(f"| {_fmt_n(n)} | {label} | {r['seconds']:.2f} | {n / r['seconds']:,.0f} | {ratio} "
                  f"| {r['peak_mb']:,.0f} |")
    notes = []
    mem = [r for (e, _), r in results.items() if e == "memory"]
    if mem:
        notes.append(f"classify_points lookup build (once per process/boundaries): {mem[0]['build_s']:.2f} s; "
                     f"{mem[0]['mixed_cells']:,} of {mem[0]['cells']:,} grid cells need exact tests")
    dsk = [r for (e, _), r in results.items() if e.startswith("dask")]
    if dsk:
        notes.append(f"Dask local cluster start-up (not in the table): {dsk[0]['startup_s']:.1f} s")
    for note in notes:
        print(f"\n{note}")
    if args.json:
        args.json.write_text(json.dumps({f"{e}:{n}": r for (e, n), r in results.items()}, indent=2))


if __name__ == "__main__":
    main()
