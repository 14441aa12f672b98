"""The Dask engine gives the in-memory engine's answers, row for row, on normal and hostile input.

Clusters: a two-worker ``LocalCluster`` and, as a user starts one, a ``dask scheduler`` and two
``dask worker`` processes on localhost.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from wuzhong_geo import layers, limits, pipeline
from wuzhong_geo.check_dask import check_dask
from wuzhong_geo.cli import app
from wuzhong_geo.csvsafe import FORMULA_START
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


@pytest.fixture(scope="module")
def user_scheduler(tmp_path_factory):
    """`dask scheduler` and two `dask worker` processes on localhost, started as a user would."""
    folder = tmp_path_factory.mktemp("scheduler")
    address_file = folder / "scheduler.json"
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    common = {"env": env, "cwd": folder, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    dask_cli = shutil.which("dask") or str(Path(sys.executable).with_name("dask"))
    procs = [subprocess.Popen([dask_cli, "scheduler", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(address_file)], **common)]
    try:
        for _ in range(600):
            if address_file.exists() and address_file.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(address_file.read_text())["address"]
        for _ in range(2):
            procs.append(subprocess.Popen([dask_cli, "worker", address, "--nthreads", "1", "--no-dashboard"],
                                          **common))
        from distributed import Client

        with Client(address, timeout="60s") as c:
            c.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)


def hostile_lines(shapes: list[str]) -> list[str]:
    """Data lines of a 名称,经度,纬度,备注 file, one per shape: the ways analysts' files go wrong."""
    rng = np.random.default_rng(len(shapes))
    lines = []
    for i, shape in enumerate(shapes):
        lon, lat = round(120.45 + rng.random() * 0.4, 6), round(31.05 + rng.random() * 0.25, 6)
        lines.append({
            "ok": f"项目{i},{lon},{lat},普通",
            "extra": f"多一列{i},{lon},{lat},备注,多出的字段",
            "short": f"少一列{i},{lon}",
            "blank": "",
            "spaces": "   ",
            "trailing": f"末尾逗号{i},{lon},{lat},x,",
            "formula": f"{FORMULA_START[i % len(FORMULA_START)].strip() or '='}cmd|' /C calc'!A0,{lon},{lat},=1+1",
            "empty": ",,,",
            "text": f"文字坐标{i},东经,北纬,",
            "swapped": f"填反{i},{lat},{lon},",
            "huge": f"超大{i},1e400,-inf,",
        }[shape])
    return lines


def write_hostile(path: Path, shapes: list[str], title: bool = False) -> Path:
    head = ["某某项目清单（2025年）", ""] if title else []
    path.write_text("\n".join([*head, "名称,经度,纬度,备注", *hostile_lines(shapes)]) + "\n", encoding="utf-8")
    return path


SHAPES = ["ok", "extra", "short", "blank", "spaces", "trailing", "formula", "empty", "text", "swapped", "huge"]


def memory_and_dask_csv(src: Path, out: Path, *extra: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """results.csv of both engines on the CLI (dask with ``extra`` options), as text."""
    mem = CliRunner().invoke(app, ["check", str(src), "--out", str(out / "memory"), "--no-progress",
                                   "--formats", "csv"], catch_exceptions=False)
    assert mem.exit_code == 0, mem.output
    dsk = CliRunner().invoke(app, ["check", str(src), "--out", str(out / "dask"), "--engine", "dask",
                                   "--formats", "csv,parquet,html", *extra], catch_exceptions=False)
    assert dsk.exit_code == 0, dsk.output
    read = lambda p: pd.read_csv(p / "results.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    return read(out / "memory"), read(out / "dask")


def test_hostile_csv_on_a_user_started_scheduler_equals_the_memory_engine(tmp_path, user_scheduler):
    shapes = [*SHAPES * 30, *["ok"] * 400]
    np.random.default_rng(3).shuffle(shapes)
    src = write_hostile(tmp_path / "hostile.csv", shapes, title=True)
    memory, dask_ = memory_and_dask_csv(src, tmp_path, "--scheduler", user_scheduler, "--partitions", "7")
    pd.testing.assert_frame_equal(dask_, memory)
    physical = [s for s in shapes if s not in ("blank", "spaces")]
    assert len(dask_) == len(physical) and list(dask_["row_id"]) == [str(i) for i in range(1, len(physical) + 1)]
    malformed = dask_[dask_["status"] == "malformed_row"]
    assert len(malformed) == shapes.count("extra") + shapes.count("short")
    assert malformed["message"].str.contains(r"第 \d+ 行有 \d 个字段").all()
    # line numbers are the file's: title lines, header, blank lines all counted
    lines = (tmp_path / "hostile.csv").read_text(encoding="utf-8").splitlines()
    for message in malformed["message"]:
        number = int(message.split("第 ")[1].split(" 行")[0])
        assert lines[number - 1].startswith(("多一列", "少一列"))
    cells = dask_.drop(columns=[c for c in dask_ if c.startswith(("wgs84", "dist", "x_", "y_"))]).to_numpy().ravel()
    assert not any(str(c).startswith(("=", "+", "@")) for c in cells)  # no live formula
    summary = json.loads((tmp_path / "dask" / "summary.json").read_text(encoding="utf-8"))
    assert summary["dask"]["scheduler"] == user_scheduler and summary["dask"]["workers"] == 2
    assert summary["dask"]["partitions"] == 7 and summary["rows"] == len(physical)
    assert (tmp_path / "dask" / "report.html").stat().st_size > 10_000
    got = gpd.read_parquet(tmp_path / "dask" / "points")
    assert sorted(got["row_id"]) == list(range(1, len(physical) + 1))


def test_normal_csv_and_geoparquet_on_a_user_started_scheduler(tmp_path, user_scheduler):
    rows = sample_rows(2_000)
    src = tmp_path / "in.csv"
    rows.to_csv(src, index=False)
    memory, dask_ = memory_and_dask_csv(src, tmp_path, "--scheduler", user_scheduler, "--partitions", "3")
    pd.testing.assert_frame_equal(dask_, memory)
    points = gpd.read_parquet(tmp_path / "dask" / "points")
    assert_frames_equal(points, pipeline.check_sites(src), list(points.columns))


@given(st.lists(st.sampled_from(SHAPES), min_size=1, max_size=40), st.integers(1, 6))
@example(["blank", "empty"], 1)  # a blank line and a row of empty cells: refused alike by both engines
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_generated_hostile_files_every_row_once_as_in_memory(tmp_path_factory, client, shapes, partitions):
    folder = tmp_path_factory.mktemp("gen")
    if all(s in ("blank", "spaces") for s in shapes):
        shapes = [*shapes, "ok"]
    src = write_hostile(folder / "in.csv", shapes)
    try:
        pipeline.run(src, folder / "memory", formats="csv", progress=False)
    except InputError as refused:  # e.g. no row holds a value: both engines refuse the file alike
        with pytest.raises(InputError) as also:
            check_dask(src, folder / "dask", client=client, partitions=partitions, formats="csv")
        assert str(also.value) == str(refused)
        return
    check_dask(src, folder / "dask", client=client, partitions=partitions, formats="csv")
    read = lambda p: pd.read_csv(p / "results.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(read(folder / "dask"), read(folder / "memory"))


def test_quoted_newlines_and_several_files(tmp_path, client):
    """A quoted field spanning lines keeps its file in one partition; files continue the row_id."""
    src = tmp_path / "parts"
    src.mkdir()
    write_hostile(src / "a.csv", ["ok", "extra", "ok"])
    (src / "b.csv").write_text('名称,经度,纬度,备注\n"两行\n名称",120.6,31.26,x\n少一列,120.6\n', encoding="utf-8")
    write_hostile(src / "c.csv", ["ok", "blank", "short"])
    check_dask(src, tmp_path / "out", client=client, partitions=8, formats="csv")
    got = pd.read_csv(tmp_path / "out" / "results.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(got["row_id"]) == [str(i) for i in range(1, 8)]
    assert list(got["status"] == "malformed_row") == [False, True, False, False, True, False, True]
    assert got.loc[3, "名称"] == "两行\n名称"
    assert "第 4 行" in got.loc[4, "message"]  # b.csv: header 1, the quoted record 2–3, then line 4
    assert "第 4 行" in got.loc[6, "message"]  # c.csv: line 3 is blank


def test_limits_reach_the_workers_and_the_output_stays(tmp_path, client):
    src = write_hostile(tmp_path / "in.csv", ["ok"] * 30)
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old", encoding="utf-8")
    limits.set_limit("max_rows=10")
    try:
        with pytest.raises(InputError, match="max_rows"):
            check_dask(src, out, client=client, partitions=2)  # 15 rows a partition: refused on a worker
        summary = check_dask(src, out, client=client, partitions=4)  # 8 rows a partition
    finally:
        limits.reset()
    assert summary["rows"] == 30
    assert (out / "old.txt").read_text(encoding="utf-8") == "old"
    assert not list(tmp_path.glob(".out.tmp-*"))
    limits.set_limit("max_columns=3")
    try:
        with pytest.raises(InputError, match="max_columns"):
            check_dask(src, tmp_path / "o2", client=client)
    finally:
        limits.reset()
    assert not (tmp_path / "o2").exists()


@pytest.mark.parametrize("formats, named", [("gpkg", "gpkg"), ("csv,xlsx", "xlsx"), ("pdf", "pdf"), (",", "--formats")])
def test_formats_the_dask_engine_cannot_write_are_refused_up_front(tmp_path, formats, named):
    src = write_hostile(tmp_path / "in.csv", ["ok"])
    result = CliRunner().invoke(app, ["check", str(src), "--out", str(tmp_path / "o"), "--engine", "dask",
                                      "--formats", formats], catch_exceptions=False)
    assert result.exit_code == 2 and named in result.output and "--engine" in result.output or named == "--formats"
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_bad_scheduler_address_is_a_message(tmp_path):
    src = write_hostile(tmp_path / "in.csv", ["ok"])
    result = CliRunner().invoke(app, ["check", str(src), "--out", str(tmp_path / "o"), "--engine", "dask",
                                      "--scheduler", "tcp://127.0.0.1:9"], catch_exceptions=False)
    assert result.exit_code == 2 and "scheduler" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_a_record_the_csv_module_cannot_split_is_refused_naming_its_line(tmp_path, client):
    """A cell over 128 KiB (or an unclosed quote) in a later partition: refused with its file line."""
    src = tmp_path / "in.csv"
    src.write_text("名称,经度,纬度\n" + "甲,120.6,31.26\n" * 2_000 + "长" * 200_000 + ",120.6,31.26\n"
                   + "乙,120.6,31.26\n" * 50, encoding="utf-8")
    with pytest.raises(InputError, match="line 2002"):
        check_dask(src, tmp_path / "out", client=client, partitions=4)
    assert not (tmp_path / "out").exists()
