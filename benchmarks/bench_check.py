"""Benchmark ``wuzhong-geo check`` against the plain geopandas and DuckDB-spatial town joins.

    python benchmarks/bench_check.py                     # 100,000 and 1,000,000 points
    python benchmarks/bench_check.py --sizes 20000 --keep /tmp/bench
    python benchmarks/bench_check.py --workers 1         # also check with one forked check process

Each pipeline runs in a new process (cold: imports, layers and the CSV read included), on the
same ``name,lon,lat`` CSV of random points over the district's bounding box, in one run:

* ``geopandas``  read_csv → points_from_xy → sjoin(towns) → to_csv: the town only.
* ``duckdb``     DuckDB + its spatial extension from the ``duckdb-extension-spatial`` wheel
                 (loaded from the wheel's file, offline): read_csv → ST_Point → join
                 ST_Intersects(towns) → COPY TO csv: the town only.
* ``check``      ``wuzhong-geo check pts.csv --out DIR`` (its default outputs for that size):
                 town, zones, sub-region, management zone, nearest infrastructure of each kind,
                 Taihu shore, rules, status and message for every row. With ``--workers N``
                 the same run is repeated with N forked check processes (``check -wN``).

Printed per run: wall time, CPU time (user+sys) and peak RSS of the process, and the ratio of
each baseline's wall time to ``check``'s. The disk cache of lookups is warmed first (like any run
after the first); ``--no-warm`` measures a first run ever.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PLAIN = """
import sys, geopandas as gpd, pandas as pd
csv, towns_path, out = sys.argv[1:4]
table = pd.read_csv(csv)
pts = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs="EPSG:4326")
towns = gpd.read_file(towns_path, layer="towns_schematic")[["code", "name", "geometry"]]
joined = gpd.sjoin(pts, towns.rename(columns={"name": "town"}), how="left", predicate="intersects")
joined.to_csv(out, index=False)
"""

DUCKDB = """
import glob, os, sys, duckdb, duckdb_extension_spatial
csv, towns_path, out = sys.argv[1:4]
ext = glob.glob(os.path.join(os.path.dirname(duckdb_extension_spatial.__file__), "extensions", "*",
                             "spatial.duckdb_extension"))[0]
con = duckdb.connect()
con.execute(f"LOAD '{ext}'")  # from the PyPI wheel: no download
con.execute(f"CREATE TABLE towns AS SELECT code, name AS town, geom FROM ST_Read('{towns_path}', layer='towns_schematic')")
con.execute(f\"\"\"COPY (SELECT p.*, t.code, t.town FROM
    (SELECT *, ST_Point(lon, lat) AS pt FROM read_csv_auto('{csv}')) p
    LEFT JOIN towns t ON ST_Intersects(t.geom, p.pt)) TO '{out}' (HEADER, DELIMITER ',')\"\"\")
"""

CHECK = "from wuzhong_geo.cli import main; main()"


def make_csv(path: Path, n: int, seed: int = 1) -> None:
    """n random points over the district's bounding box as ``name,lon,lat``."""
    import numpy as np
    import pandas as pd

    from wuzhong_geo import layers

    west, south, east, north = layers.district().total_bounds
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"name": [f"项目{i:07d}" for i in range(n)],
                          "lon": rng.uniform(west, east, n).round(6),
                          "lat": rng.uniform(south, north, n).round(6)})
    frame.to_csv(path, index=False, encoding="utf-8")


TIME = "/usr/bin/time"


def run(args: list[str], env: dict) -> dict:
    """Run a command in a new process; wall seconds, CPU seconds and peak RSS (MiB).

    The peak RSS comes from GNU time, which starts the command from its own small process: a child
    forked straight from this (large) Python process would inherit its high-water mark.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".time") as stats:
        wrapped = [TIME, "-o", stats.name, "-f", "%e %U %S %M", *args] if os.path.exists(TIME) else args
        t = time.perf_counter()
        proc = subprocess.run(wrapped, env=env, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - t
        fields = stats.read().split()[-4:] if os.path.exists(TIME) else []
    result = {"wall_s": wall, "cpu_s": float("nan"), "rss_mib": float("nan"), "ok": proc.returncode == 0}
    if len(fields) == 4:
        result.update(wall_s=float(fields[0]), cpu_s=float(fields[1]) + float(fields[2]),
                      rss_mib=float(fields[3]) / 1024)
    if proc.returncode != 0:
        result["error"] = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["failed"]
    return result


def duckdb_available() -> str | None:
    """None when DuckDB and its spatial extension load here; else why not."""
    try:
        import duckdb  # noqa: F401
        import duckdb_extension_spatial  # noqa: F401
    except ImportError as exc:
        return f"not installed ({exc.name}); pip install duckdb duckdb-extension-spatial"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated point counts")
    parser.add_argument("--keep", type=Path, default=None, help="keep CSVs and outputs here")
    parser.add_argument("--no-warm", action="store_true", help="do not warm the lookup cache first")
    parser.add_argument("--workers", type=int, default=0,
                        help="also run check with --workers N (forked check processes)")
    parser.add_argument("--formats", default=None,
                        help="check's --formats (default: check's own default for each size)")
    args = parser.parse_args()
    from wuzhong_geo.settings import base_gpkg

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_check_"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    towns = str(base_gpkg())
    no_duck = duckdb_available()
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    if no_duck:
        print(f"duckdb spatial: {no_duck}")
    if not args.no_warm:
        warm = work / "warm.csv"
        make_csv(warm, 100)
        run([sys.executable, "-c", CHECK, "check", str(warm), "--out", str(work / "warm"), "--no-progress"], env)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        csv = work / f"pts_{n}.csv"
        if not csv.exists():  # same seed, same points: a kept CSV is reused
            make_csv(csv, n)
        results = {
            "geopandas": run([sys.executable, "-c", PLAIN, str(csv), towns, str(work / f"plain_{n}.csv")], env),
            "duckdb": ({"ok": False, "error": [no_duck]} if no_duck else
                       run([sys.executable, "-c", DUCKDB, str(csv), towns, str(work / f"duck_{n}.csv")], env)),
            "check": run([sys.executable, "-c", CHECK, "check", str(csv), "--out", str(work / f"check_{n}"),
                          "--no-progress", *(["--formats", args.formats] if args.formats else [])], env),
        }
        if args.workers:  # the same run with forked check processes, for comparison
            results[f"check -w{args.workers}"] = run(
                [sys.executable, "-c", CHECK, "check", str(csv), "--out", str(work / f"checkw_{n}"), "--no-progress",
                 "--workers", str(args.workers), *(["--formats", args.formats] if args.formats else [])], env)
        summary = json.loads((work / f"check_{n}" / "summary.json").read_text(encoding="utf-8")) \
            if results["check"]["ok"] else {}
        print(f"\n{n:,} points  (check outputs: {', '.join(summary.get('outputs', []))})")
        print(f"  {'pipeline':<10} {'wall s':>8} {'cpu s':>8} {'peak MiB':>9} {'wall vs check':>14}")
        for name, r in results.items():
            if not r["ok"]:
                print(f"  {name:<10} not run: {' '.join(r['error'])}")
                continue
            ratio = r["wall_s"] / results["check"]["wall_s"] if results["check"]["ok"] else float("nan")
            print(f"  {name:<10} {r['wall_s']:8.2f} {r['cpu_s']:8.2f} {r['rss_mib']:9.0f} {ratio:13.2f}x")
        if summary:
            # each output is written on a thread of its own: its seconds overlap the check's and each
            # other's; write_wait is how long the check waited for the writers
            print(f"  check stages (s): {summary.get('timing_s')}")
        rows.append({"n": n, **{k: v for k, v in results.items()}})
    (work / "results.json").write_text(json.dumps(rows, indent=2))
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
