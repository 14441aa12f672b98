"""Benchmark ``wuzhong-geo check`` against the plain geopandas and DuckDB-spatial town joins.

    python benchmarks/bench_check.py                     # 100,000 and 1,000,000 points
    python benchmarks/bench_check.py --sizes 20000 --keep /tmp/bench
    python benchmarks/bench_check.py --workers 1         # also check with one forked check process
    python benchmarks/bench_check.py --sizes 1e5 --repeat 5   # five rounds: min, median, max

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
each baseline's wall time to ``check``'s. With ``--repeat N`` the pipelines run in N rounds, one
after the other within each round (so a slow spell of a shared machine hits all of them), and the
table gives the median with the range; the ratio is the median of the rounds' ratios. The disk
cache of lookups is warmed first (like any run after the first); ``--no-warm`` measures a first
run ever. The warm-up also leaves Python's bytecode cache, as an installed package has it: the
processes run without ``PYTHONDONTWRITEBYTECODE`` (set on some build machines, it would make
every run recompile the package, about 0.1 s).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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


#: The goals of issue 13 by input size: what is asked, and its test on the medians.
GOALS = {
    100_000: ("check ≤ 3 s end to end", lambda r: r["check"]["wall_s"] <= 3.0),
    1_000_000: ("check faster than geopandas", lambda r: r["geopandas"]["wall_s"] > r["check"]["wall_s"]),
}


def _median(rounds: list[dict]) -> dict:
    """One pipeline's rounds as the median (and range) of each measure; not ok if any round failed."""
    failed = [r for r in rounds if not r["ok"]]
    if failed:
        return failed[0]
    out = {"ok": True, "rounds": len(rounds)}
    for key in ("wall_s", "cpu_s", "rss_mib"):
        values = [r[key] for r in rounds]
        out[key], out[f"{key}_min"], out[f"{key}_max"] = statistics.median(values), min(values), max(values)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated point counts (1e5 works)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of every pipeline (median and range)")
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
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode cached (written by the warm-up)
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
    formats = ["--formats", args.formats] if args.formats else []
    for n in (int(float(s)) for s in args.sizes.split(",")):
        csv = work / f"pts_{n}.csv"
        if not csv.exists():  # same seed, same points: a kept CSV is reused
            make_csv(csv, n)
        commands = {
            "geopandas": [sys.executable, "-c", PLAIN, str(csv), towns, str(work / f"plain_{n}.csv")],
            "duckdb": None if no_duck else [sys.executable, "-c", DUCKDB, str(csv), towns, str(work / f"duck_{n}.csv")],
            "check": [sys.executable, "-c", CHECK, "check", str(csv), "--out", str(work / f"check_{n}"),
                      "--no-progress", *formats],
        }
        if args.workers:  # the same run with forked check processes, for comparison
            commands[f"check -w{args.workers}"] = [
                sys.executable, "-c", CHECK, "check", str(csv), "--out", str(work / f"checkw_{n}"), "--no-progress",
                "--workers", str(args.workers), *formats]
        rounds = [{name: run(cmd, env) if cmd else {"ok": False, "error": [no_duck]} for name, cmd in commands.items()}
                  for _ in range(max(args.repeat, 1))]
        results = {name: _median([r[name] for r in rounds]) for name in commands}
        summary = json.loads((work / f"check_{n}" / "summary.json").read_text(encoding="utf-8")) \
            if results["check"]["ok"] else {}
        spread = len(rounds) > 1
        print(f"\n{n:,} points, {len(rounds)} round(s){', median [min–max]' if spread else ''}"
              f"  (check outputs: {', '.join(summary.get('outputs', []))})")
        print(f"  {'pipeline':<10} {'wall s':>{19 if spread else 8}} {'cpu s':>8} {'peak MiB':>9} {'wall vs check':>14}")
        for name, r in results.items():
            if not r["ok"]:
                print(f"  {name:<10} not run: {' '.join(r['error'])}")
                continue
            ratios = [x[name]["wall_s"] / x["check"]["wall_s"] for x in rounds if x["check"]["ok"]]
            ratio = statistics.median(ratios) if ratios else float("nan")
            wall = f"{r['wall_s']:.2f} [{r['wall_s_min']:.2f}–{r['wall_s_max']:.2f}]" if spread else f"{r['wall_s']:.2f}"
            print(f"  {name:<10} {wall:>{19 if spread else 8}} {r['cpu_s']:8.2f} {r['rss_mib']:9.0f} {ratio:13.2f}x")
        if n in GOALS and results["check"]["ok"] and results["geopandas"]["ok"]:
            what, test = GOALS[n]
            print(f"  goal ({what}, on the medians): {'met' if test(results) else 'NOT met'}")
        if summary:
            # each output is written on a thread of its own: its seconds overlap the check's and each
            # other's; write_wait is how long the check waited for the writers
            print(f"  check stages (s): {summary.get('timing_s')}")
        rows.append({"n": n, **results, "rounds": rounds})
    (work / "results.json").write_text(json.dumps(rows, indent=2))
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
