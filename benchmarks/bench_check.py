"""Benchmark ``wuzhong-geo check``: points per second, against a plain geopandas.sjoin pipeline.

    python benchmarks/bench_check.py            # 100,000 points
    python benchmarks/bench_check.py --n 20000 --out /tmp/bench

Both pipelines answer the same question for the same CSV (town, functional zone, management
zone, sub-region, in Taihu or outside, nearest planned infrastructure of each kind with distance,
distance to the Taihu shore) and are timed in the same run. The baseline reads the CSV with
pandas and uses ``geopandas.sjoin`` / ``sjoin_nearest``; it does no encoding or coordinate
clean-up, no rules and writes nothing, so the comparison favours it. The full run adds reading
with detection, rules, and writing every output (CSV, XLSX, GPKG, JSON, HTML report).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd


def make_csv(path: Path, n: int, seed: int = 1) -> None:
    """Write n synthetic project points: most around town seats, some anywhere, a few broken."""
    from wuzhong_geo import layers

    rng = np.random.default_rng(seed)
    towns = layers.towns()
    pick = rng.integers(0, len(towns), n)
    lon = towns["seat_lon"].to_numpy()[pick] + rng.normal(0, 0.03, n)
    lat = towns["seat_lat"].to_numpy()[pick] + rng.normal(0, 0.025, n)
    anywhere = rng.random(n) < 0.15
    lon[anywhere] = rng.uniform(119.9, 120.95, anywhere.sum())
    lat[anywhere] = rng.uniform(30.9, 31.45, anywhere.sum())
    frame = pd.DataFrame(
        {
            "项目名称": [f"项目{i:06d}" for i in range(n)],
            "项目类型": rng.choice(["工业", "文旅", "居住", "商业", "道路", "生态"], n),
            "所在镇": towns["name"].to_numpy()[pick],
            "经度": np.round(lon, 6).astype(str),
            "纬度": np.round(lat, 6).astype(str),
        }
    )
    broken = rng.choice(n, max(n // 1000, 1), replace=False)
    frame.loc[broken, "经度"] = ""
    frame.to_csv(path, index=False, encoding="utf-8")


def baseline(path: Path) -> pd.DataFrame:
    """The same answers with pandas + geopandas.sjoin, the way one would write it by hand."""
    from wuzhong_geo import layers
    from wuzhong_geo.settings import ANALYSIS_CRS

    table = pd.read_csv(path, encoding="utf-8")
    pts = gpd.GeoDataFrame(
        table, geometry=gpd.points_from_xy(table["经度"], table["纬度"]), crs="EPSG:4326"
    )
    parts = layers.town_zone_parts()[["code", "name", "zone", "geometry"]].rename(
        columns={"name": "town"}
    )
    joined = gpd.sjoin(pts, parts, how="left", predicate="intersects")
    joined = joined[~joined.index.duplicated(keep="first")]
    towns = layers.towns().set_index("code")
    joined["management_zone"] = joined["code"].map(towns["management_zone"])
    joined["subregion"] = joined["code"].map(towns["subregion"])
    taihu = layers.taihu()[["geometry"]].assign(in_taihu=True)
    water = gpd.sjoin(pts, taihu, how="left", predicate="intersects")
    joined["in_taihu"] = (
        water[~water.index.duplicated(keep="first")]["in_taihu"].fillna(False).to_numpy()
    )
    projected = joined.to_crs(ANALYSIS_CRS)
    infra = layers.infrastructure()
    infra = infra[infra["in_plan"].astype(str).str.lower() == "true"].to_crs(ANALYSIS_CRS)
    for kind, features in infra.groupby("kind"):
        near = gpd.sjoin_nearest(
            projected[["geometry"]],
            features[["name", "geometry"]],
            how="left",
            distance_col=f"dist_{kind}_m",
        )
        near = near[~near.index.duplicated(keep="first")]
        joined[f"nearest_{kind}"] = near["name"].to_numpy()
        joined[f"dist_{kind}_m"] = near[f"dist_{kind}_m"].to_numpy()
    shore = layers.taihu_full().to_crs(ANALYSIS_CRS).boundary.iloc[0]
    joined["taihu_shore_m"] = projected.distance(shore).to_numpy()
    return joined


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="points (default 100,000)")
    parser.add_argument("--out", type=Path, default=None, help="keep the CSV and outputs here")
    args = parser.parse_args()

    from wuzhong_geo import pipeline
    from wuzhong_geo.classify import classify_points
    from wuzhong_geo.pipeline import check_sites

    work = args.out or Path(tempfile.mkdtemp(prefix="bench_check_"))
    work.mkdir(parents=True, exist_ok=True)
    csv_path = work / "points.csv"
    make_csv(csv_path, args.n)
    classify_points(
        [120.6], [31.26]
    )  # build the lookup grid once, outside the timings (cached per process)
    check_sites(
        csv_path, chunk_size=args.n
    )  # warm caches (layers, segment indexes) like a second run would

    t = time.perf_counter()
    summary = pipeline.run(csv_path, work / "check", progress=False)
    full = time.perf_counter() - t
    t = time.perf_counter()
    sites = check_sites(csv_path)
    analysis = time.perf_counter() - t
    t = time.perf_counter()
    base = baseline(csv_path)
    base_s = time.perf_counter() - t

    ok = sites["status"] == "ok"
    mine = sites.loc[ok, "code"].astype(str).to_numpy()
    agree = (mine == base.loc[ok.to_numpy(), "code"].astype(str).to_numpy()).mean()
    n = args.n
    print(f"points: {n:,}  (statuses: {summary['counts']['status']})")
    print(f"full run, CSV -> csv/xlsx/gpkg/json/html : {full:7.2f} s  {n / full:10,.0f} points/s")
    print(f"   stages: {summary['timing_s']}")
    print(
        f"check_sites (analysis only)               : {analysis:7.2f} s  {n / analysis:10,.0f} points/s"
    )
    print(
        f"plain geopandas.sjoin pipeline (analysis) : {base_s:7.2f} s  {n / base_s:10,.0f} points/s"
    )
    print(f"ratio check_sites / sjoin                 : {base_s / analysis:7.2f} x")
    print(f"town agreement with sjoin on ok points    : {agree:.4%}")
    if args.out is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
