"""The Dask engine on a two-worker local cluster gives the in-memory engine's answers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from wuzhong_geo import layers, pipeline
from wuzhong_geo.check_dask import check_dask
from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import ANALYSIS_CRS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


def sample_rows(n: int = 4_000) -> pd.DataFrame:
    """Random points over the district plus the awkward rows analysts send."""
    rng = np.random.default_rng(8)
    west, south, east, north = layers.district().total_bounds
    lon = rng.uniform(west, east, n).round(7).astype(str)
    lat = rng.uniform(south, north, n).round(7).astype(str)
    frame = pd.DataFrame({"项目名称": [f"项目{i}" for i in range(n)], "经度": lon, "纬度": lat,
                          "status": "from the input"})  # a reserved name: renamed input_status
    towns = layers.towns()
    shared = shapely.get_coordinates(towns.geometry.iloc[0])[:5]  # vertices on town borders
    special = [
        ("空坐标", "", ""), ("超范围", "120.5", "95"), ("填反", "31.2598", "120.5126"),
        ("度分秒", "120°30′45.36″", "31°15′35.28″"), ("文字", "abc", "31.2"),
        ("太湖", "120.20", "31.20"), ("区外", "121.5", "31.0"),
        *[(f"界点{i}", repr(x), repr(y)) for i, (x, y) in enumerate(shared)],
    ]
    extra = pd.DataFrame(special, columns=["项目名称", "经度", "纬度"]).assign(status="from the input")
    return pd.concat([frame.iloc[: n // 2], extra, frame.iloc[n // 2:]], ignore_index=True)


def normalised(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = frame[columns].copy()
    for col in columns:
        if col == "geometry":
            wkt = shapely.to_wkt(np.asarray(out[col].values, dtype=object), rounding_precision=9)
            out = out.drop(columns=col).assign(**{col: pd.Series(wkt, index=out.index).fillna("<NA>")})
        elif out[col].dtype.kind != "f":
            out[col] = out[col].astype("string").fillna("<NA>")
    return out.sort_values("row_id").reset_index(drop=True)


def assert_frames_equal(got: pd.DataFrame, expected: pd.DataFrame, columns: list[str]) -> None:
    a, b = normalised(got, columns), normalised(expected, columns)
    assert len(a) == len(b)
    for col in columns:
        if a[col].dtype.kind == "f":
            same = np.isclose(a[col], b[col], rtol=0, atol=0, equal_nan=True)
        else:
            same = (a[col] == b[col]).to_numpy()
        assert same.all(), f"{col}: {(~same).sum()} rows differ, e.g.\n{a.loc[~same, ['row_id', col]].head()}\n" \
                           f"{b.loc[~same, ['row_id', col]].head()}"


def test_partitioned_csv_equals_the_memory_engine_in_every_column(tmp_path, client):
    rows = sample_rows()
    src = tmp_path / "csv"
    src.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(rows)), 3)):
        rows.iloc[part].to_csv(src / f"part{i}.csv", index=False, encoding="utf-8")
    whole = tmp_path / "all.csv"
    rows.to_csv(whole, index=False, encoding="utf-8")

    summary = check_dask(src, tmp_path / "out", client=client, partitions=4)
    got = gpd.read_parquet(tmp_path / "out" / "points")
    expected = pipeline.check_sites(whole)

    assert len(got) == len(rows) and sorted(got["row_id"]) == list(range(1, len(rows) + 1))
    assert list(got.columns) == list(expected.columns)
    assert "input_status" in got and "dist_expressway_m" in got and "flags" in got
    assert_frames_equal(got, expected, list(expected.columns))
    assert (got["status"] == "invalid_coordinates").sum() >= 3
    assert got["coordinates_swapped"].sum() == 1
    assert summary["rows"] == len(rows)
    assert summary["counts"]["status"] == expected["status"].value_counts().to_dict()
    assert summary["counts"]["town"] == expected["name"].value_counts().to_dict()
    assert summary["counts"]["flags"]  # the rules ran on the workers
    assert summary["dask"]["workers"] == 2
    assert (tmp_path / "out" / "summary.json").exists()


def test_geoparquet_equals_the_memory_engine_in_every_column(tmp_path, client):
    rows = sample_rows(1_500)
    lon = pd.to_numeric(rows["经度"], errors="coerce")
    lat = pd.to_numeric(rows["纬度"], errors="coerce")
    ok = lon.between(100, 140) & lat.between(20, 40)
    frame = gpd.GeoDataFrame(rows[ok].drop(columns=["经度", "纬度"]).reset_index(drop=True),
                             geometry=gpd.points_from_xy(lon[ok], lat[ok]), crs="EPSG:4326").to_crs(ANALYSIS_CRS)
    src = tmp_path / "geoparquet"
    src.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(frame)), 3)):
        frame.iloc[part].to_parquet(src / f"part.{i}.parquet")

    check_dask(src, tmp_path / "out", client=client)
    got = gpd.read_parquet(tmp_path / "out" / "points")
    expected = pipeline.check_sites(frame)
    assert list(got.columns) == list(expected.columns)
    assert_frames_equal(got, expected, list(expected.columns))
    assert got["dist_expressway_m"].notna().any() and got["message"].str.len().gt(0).all()


def test_official_boundaries_reach_the_workers(tmp_path, client):
    towns = layers.towns()[["code", "name", "geometry"]]
    a, b = "320506001", "320506009"
    swapped = towns.assign(code=towns["code"].replace({a: b, b: a}))
    swapped["name"] = swapped["code"].map(towns.set_index("code")["name"])
    path = tmp_path / "official.gpkg"
    swapped.to_file(path)
    point = towns.loc[towns["code"] == a].geometry.iloc[0].representative_point()
    src = tmp_path / "in.csv"
    pd.DataFrame({"lon": [point.x] * 3, "lat": [point.y] * 3}).to_csv(src, index=False)
    layers.use_boundaries(path)
    summary = check_dask(src, tmp_path / "out", client=client)  # the workers load the file
    got = gpd.read_parquet(tmp_path / "out" / "points")
    assert set(got["code"].astype(str)) == {b}
    assert summary["boundaries"] == str(path)


def test_inputs_the_engine_refuses(tmp_path):
    with pytest.raises(InputError, match="not found"):
        check_dask(tmp_path / "missing.csv", tmp_path / "out")
    (tmp_path / "x.xlsx").write_bytes(b"PK")
    with pytest.raises(InputError, match="engine memory"):
        check_dask(tmp_path / "x.xlsx", tmp_path / "out")
    (tmp_path / "p.csv").write_text("lon,lat\n120.5,31.2\n")
    with pytest.raises(InputError, match="partitions"):
        check_dask(tmp_path / "p.csv", tmp_path / "out", partitions=0)


def test_cli_engine_dask_with_a_scheduler_address(tmp_path, client):
    from typer.testing import CliRunner

    from wuzhong_geo.cli import app

    src = tmp_path / "in.csv"
    sample_rows(300).to_csv(src, index=False)
    address = client.scheduler.address
    result = CliRunner().invoke(app, ["check", str(src), "--out", str(tmp_path / "out"), "--engine", "dask",
                                      "--scheduler", address, "--partitions", "2"])
    assert result.exit_code == 0, result.output
    assert "rows" in result.output and (tmp_path / "out" / "points").is_dir()
    assert len(gpd.read_parquet(tmp_path / "out" / "points")) == 312
    refused = CliRunner().invoke(app, ["check", str(src), "--out", str(tmp_path / "o2"), "--partitions", "2"])
    assert refused.exit_code == 2 and "--engine dask" in refused.output


def test_cli_on_a_scheduler_and_two_workers_started_as_a_user_would(tmp_path):
    """`dask scheduler` and two `dask worker` processes on localhost, then `check --engine dask`."""
    import json
    import os
    import shutil
    import subprocess
    import time

    from typer.testing import CliRunner

    from wuzhong_geo.cli import app

    address_file = tmp_path / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))}
    common = {"env": env, "cwd": tmp_path, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    dask_cli = shutil.which("dask") or pytest.skip("the dask command is not installed")
    procs = [subprocess.Popen([dask_cli, "scheduler", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(address_file)], **common)]
    try:
        for _ in range(600):
            if address_file.exists() and address_file.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(address_file.read_text())["address"]
        for _ in range(2):
            procs.append(subprocess.Popen([dask_cli, "worker", address,
                                           "--nthreads", "1", "--no-dashboard"], **common))
        from distributed import Client

        with Client(address, timeout="60s") as c:
            c.wait_for_workers(2, timeout=120)
        src = tmp_path / "in.csv"
        rows = sample_rows(600)
        rows.to_csv(src, index=False)
        result = CliRunner().invoke(app, ["check", str(src), "--out", str(tmp_path / "out"), "--engine", "dask",
                                          "--scheduler", address, "--partitions", "3"])
        assert result.exit_code == 0, result.output
        got = gpd.read_parquet(tmp_path / "out" / "points")
        expected = pipeline.check_sites(src)
        assert_frames_equal(got, expected, list(expected.columns))
        summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
        assert summary["dask"]["workers"] == 2 and summary["dask"]["scheduler"] == address
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
