"""Hostile and broken input (issue 15): every class refused with exit 2 and a message, never a traceback.

Each class is exercised with many generated variants (hypothesis where it fits); the CLI runs with
``catch_exceptions=False``, so any uncaught exception fails the test with its traceback.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from wuzhong_geo import limits, outdir
from wuzhong_geo.cli import app
from wuzhong_geo.csvsafe import FORMULA_START, safe_cell, safe_frame, write_csv
from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import plan_dir

runner = CliRunner()
SLOW_EXAMPLES = settings(max_examples=12, deadline=None,
                         suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
ROOT = Path(__file__).resolve().parents[1]


def invoke(*args: str):
    """Run the CLI in-process; an uncaught exception propagates (and fails the test)."""
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def refused(result, *names: str) -> None:
    """Exit code 2, a bilingual message naming ``names``, no traceback."""
    text = result.output
    assert result.exit_code == 2, text
    assert "Traceback" not in text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text), f"no Chinese in: {text}"
    assert any(ch.isascii() and ch.isalpha() for ch in text), f"no English in: {text}"
    for name in names:
        assert name in text, f"{name!r} not named in: {text}"


def billion_laughs(depth: int, width: int) -> str:
    lines = ['a0: &a0 ["lol"]']
    for i in range(1, depth + 1):
        refs = ", ".join([f"*a{i - 1}"] * width)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


# --- 1. CSV formula injection ---------------------------------------------------------------------

formula_text = st.builds(lambda head, tail: head + tail, st.sampled_from(FORMULA_START), st.text(max_size=30))


@given(formula_text)
def test_no_text_cell_can_start_a_formula(value):
    cell = safe_cell(value)
    try:
        float(value)
        numeric = value.strip() == value
    except ValueError:
        numeric = False
    assert numeric or cell == "'" + value


@given(st.lists(st.one_of(formula_text, st.text(max_size=10), st.floats(allow_nan=False), st.integers()),
                min_size=1, max_size=20))
def test_written_csv_has_no_live_formula_and_numbers_stay_numbers(tmp_path_factory, values):
    import pandas as pd

    path = tmp_path_factory.mktemp("csv") / "t.csv"
    numbers = [v for v in values if isinstance(v, (int, float))]
    frame = pd.DataFrame({"=HYPERLINK(\"x\")": values, "n": range(len(values))})
    write_csv(frame, path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    for row in rows:
        for cell in row:
            if cell.startswith(FORMULA_START):
                float(cell)  # only plain numbers (-3.5, +1e3) may start with - or +
    assert rows[0][0].startswith("'=")
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert list(back["n"]) == list(range(len(values)))  # a numeric column stays numeric
    assert len(numbers) == sum(isinstance(v, (int, float)) for v in values)


def test_safe_frame_leaves_numeric_columns_alone():
    import pandas as pd

    frame = pd.DataFrame({"x": [-1.5, 2.0], "t": ["-1.5", "-1+2"], "s": pd.Series(["@SUM(A1)", None], dtype="string")})
    out = safe_frame(frame)
    assert out["x"].tolist() == [-1.5, 2.0] and out["t"].tolist() == ["-1.5", "'-1+2"]
    assert out["s"].iloc[0] == "'@SUM(A1)"


PAYLOADS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\t=1+1", "\r=1",
            "=1+1", "-1", "+1e3"]


def test_join_outputs_are_formula_free(tmp_path):
    table = tmp_path / "t.csv"
    rows = [["镇", "值", "备注"], ["木渎", "3", PAYLOADS[0]]] + [[p, str(i), p] for i, p in enumerate(PAYLOADS)]
    with open(table, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    result = invoke("join", table, "--key", "镇", "--value", "值", "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    for name in ("joined.csv", "unmatched.csv"):
        for row in csv.reader(io.StringIO((tmp_path / "o" / name).read_text(encoding="utf-8-sig"))):
            assert not any(cell.startswith(FORMULA_START) and cell != "-" and not _number(cell) for cell in row), row


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


# --- 3. Resource exhaustion: YAML, zip/XLSX, columns -------------------------------------------------

@given(st.integers(min_value=7, max_value=12), st.integers(min_value=7, max_value=12))
def test_yaml_alias_bombs_are_refused_fast(depth, width):
    text = billion_laughs(depth, width)
    start = time.process_time()
    with pytest.raises(InputError, match="max_yaml_"):
        limits.safe_load_text(text, source="bomb.yaml")
    assert time.process_time() - start < 5  # milliseconds when idle; 82 s and 5.6 GB before the fix


@pytest.mark.parametrize("option", ["--zone-rules", "--rules"])
def test_billion_laughs_through_the_cli(tmp_path, option):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs(9, 10), encoding="utf-8")
    start = time.process_time()
    if option == "--zone-rules":
        result = invoke("layers", "--zone-rules", bomb, "--out", tmp_path / "o")
    else:
        from wuzhong_geo.rules import load_rules

        with pytest.raises(InputError, match="max_yaml_nodes") as info:
            load_rules(bomb)
        assert "bomb.yaml" in str(info.value)
        return
    elapsed = time.process_time() - start
    refused(result, "bomb.yaml", "max_yaml_nodes")
    assert elapsed < 5 and not (tmp_path / "o").exists()


@given(st.sampled_from([
    "!!python/object/apply:os.system ['touch /tmp/pwned']",
    "x: !!python/name:os.system",
    "rules: !!python/object/new:subprocess.Popen [['id']]",
    "source: !!python/module:os",
    "a: !custom 1",
]))
@SLOW_EXAMPLES
def test_python_tags_are_a_message_not_a_traceback(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("tags") / "tags.yaml"
    path.write_text(text, encoding="utf-8")
    result = invoke("layers", "--zone-rules", path, "--out", path.parent / "o")
    refused(result, "tags.yaml")
    assert "nothing is executed" in result.output or "不是有效" in result.output


@given(st.integers(min_value=1, max_value=2000), st.sampled_from(["", "]", "{", ": :", "\t", "&", "*nope"]))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_broken_zone_rules_yaml_names_the_file_and_line(tmp_path_factory, cut, junk):
    text = (plan_dir() / "zone_split_rules.yaml").read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp("zr") / "my_rules.yaml"
    path.write_text(text[: cut % len(text)] + junk + text[cut % len(text):], encoding="utf-8")
    result = invoke("layers", "--zone-rules", path, "--out", path.parent / "o")
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        refused(result, "my_rules.yaml")
        assert "pydantic.dev" not in result.output and "Traceback" not in result.output


ZONE_RULE_EDITS = {
    "zero-length line": ("[[120.590, 31.10], [120.590, 31.35]]", "[[120.590, 31.10], [120.590, 31.10]]", "zero length"),
    "line in metres": ("[[120.590, 31.10], [120.590, 31.35]]", "[[500000, 3440000], [500000, 3470000]]", "lon/lat"),
    "contradicting zones": ("    left_zone: 先进制造轴\n    right_zone: 中心城市核",
                            "    left_zone: 生态文旅带\n    right_zone: 中心城市核", "contradict"),
    "missing rule": ('  "320506003":', '  "320506999":', "320506003"),
    "infinite distance": ("distance_m: 2000", "distance_m: .inf", "distance_m"),
    "unknown key": ("    method: half_plane", "    method: half_plane\n    colour: red", "unknown key"),
    "not a mapping": (None, "- a\n- b\n", "YAML"),
}


@pytest.mark.parametrize("case", list(ZONE_RULE_EDITS))
def test_zone_rule_mistakes_are_explained(tmp_path, case):
    old, new, expected = ZONE_RULE_EDITS[case]
    text = (plan_dir() / "zone_split_rules.yaml").read_text(encoding="utf-8")
    edited = new if old is None else text.replace(old, new, 1)
    assert edited != text
    path = tmp_path / "edited_rules.yaml"
    path.write_text(edited, encoding="utf-8")
    result = invoke("layers", "--zone-rules", path, "--out", tmp_path / "o")
    refused(result, "edited_rules.yaml", expected)
    assert "pydantic" not in result.output and not (tmp_path / "o").exists()


def _xlsx_bomb(path: Path, inflated: int) -> None:
    """A valid-looking workbook whose sheet inflates to ``inflated`` bytes of XML whitespace."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(b'<worksheet><dimension ref="A1:B2"/><sheetData>')
            block = b" " * (1 << 20)
            for _ in range(inflated >> 20):
                f.write(block)
            f.write(b"</sheetData></worksheet>")


def test_xlsx_bomb_is_refused_before_inflating(tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    _xlsx_bomb(bomb, 64 << 20)
    assert bomb.stat().st_size < 1 << 20
    start = time.process_time()
    result = invoke("join", bomb, "--key", "镇", "--value", "值", "--out", tmp_path / "o")
    refused(result, "bomb.xlsx", "max_compression_ratio")
    assert time.process_time() - start < 5


@given(st.integers(min_value=2, max_value=40))
@SLOW_EXAMPLES
def test_inflated_size_and_member_caps_are_raisable(tmp_path_factory, megabytes):
    folder = tmp_path_factory.mktemp("zip")
    path = folder / "big.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("a.bin", os.urandom(megabytes << 20) if megabytes < 4 else b"x" * (megabytes << 20))
    limits.set_limit(f"max_inflated_bytes={(megabytes << 20) - 1}")
    limits.set_limit("max_compression_ratio=1e9")
    try:
        with pytest.raises(InputError, match="max_inflated_bytes"):
            limits.check_zip(path)
        limits.set_limit(f"max_inflated_bytes={megabytes << 20}")
        limits.check_zip(path)
    finally:
        limits.reset()


def test_xlsx_declared_too_many_columns_or_cells(tmp_path):
    path = tmp_path / "wide.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("xl/worksheets/sheet1.xml", '<worksheet><dimension ref="A1:ZZZ10"/></worksheet>')
    with pytest.raises(InputError, match="max_columns"):
        limits.check_xlsx(path)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("xl/worksheets/sheet1.xml", '<worksheet><dimension ref="A1:BZ1048576"/></worksheet>')
    with pytest.raises(InputError, match="max_xlsx_cells"):
        limits.check_xlsx(path)


@pytest.mark.parametrize("columns", [2_001, 20_000, 200_000])
def test_too_many_columns_is_a_clear_message(tmp_path, columns):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(columns)) + "\n" + ",".join("1" * columns) + "\n",
                    encoding="utf-8")
    start = time.process_time()
    result = invoke("join", path, "--key", "c0", "--value", "c1", "--out", tmp_path / "o")
    refused(result, "wide.csv", "max_columns")
    assert time.process_time() - start < 30  # under a second when idle; ten minutes and 14 GB before
    if columns == 2_001:  # raised limit: now it reads the file (and finds no town in it)
        result = invoke("--limit", f"max_columns={columns}", "join", path, "--key", "c0", "--value", "c1",
                        "--out", tmp_path / "o")
        assert "max_columns" not in result.output and "c0" in result.output


@pytest.mark.parametrize("bad", ["max_columns", "max_columns=", "nope=3", "max_columns=-1", "max_columns=inf",
                                 "max_columns=abc"])
def test_bad_limit_option(tmp_path, bad):
    refused(invoke("--limit", bad, "layers", "--out", tmp_path / "o"), "--limit")


def test_limit_from_the_environment(monkeypatch):
    monkeypatch.setenv("WUZHONG_GEO_MAX_COLUMNS", "7")
    assert limits.get("max_columns") == 7
    monkeypatch.setenv("WUZHONG_GEO_MAX_COLUMNS", "lots")
    with pytest.raises(InputError, match="WUZHONG_GEO_MAX_COLUMNS"):
        limits.get("max_columns")


# --- 4. Output folders: checked first, replaced all-or-nothing, stale temporaries cleaned ---------------

def _bad_outs(tmp_path: Path) -> dict[str, Path | str]:
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("x", encoding="utf-8")
    return {"empty": "", "a file": a_file, "under a file": a_file / "sub", "proc": "/proc/wuzhong_out",
            "sys": "/sys/kernel/wuzhong"}


@pytest.mark.parametrize("which", ["empty", "a file", "under a file", "proc", "sys"])
@pytest.mark.parametrize("command", [
    ["layers"], ["indicators"], ["rasterize", "--res", "500"], ["maps", "--only", "01"],
    ["coverage", "places"], ["join", "TABLE", "--key", "镇街", "--value", "示例指标"],
])
def test_unusable_out_is_refused_up_front(tmp_path, test_data, which, command):
    out = _bad_outs(tmp_path)[which]
    args = [test_data / "towns_stats_gbk.csv" if a == "TABLE" else a for a in command]
    start = time.process_time()
    result = invoke(*args, "--out", out)
    refused(result, "--out")
    assert time.process_time() - start < 20  # refused before the work (minutes for maps), not after


def _unwritable_as_root(folder: Path) -> list[str]:
    """Make ``folder`` unwritable even for root: immutable (chattr +i), else a read-only tmpfs on it.

    Returns the command that undoes it. Root ignores permission bits, and CI runs as root.
    """
    if shutil.which("chattr") and subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0:
        return ["chattr", "-i", str(folder)]
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)],
                      capture_output=True).returncode == 0:
        return ["umount", str(folder)]
    pytest.fail("as root, a read-only --out needs chattr +i (e2fsprogs) or mount (CAP_SYS_ADMIN)")


@pytest.mark.parametrize("command", [["layers"], ["check", "SITES", "--no-progress"]])
def test_read_only_out_is_refused(tmp_path, test_data, command):
    """A folder nobody may write to, for a user (mode 0500) and for root (immutable)."""
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    undo = _unwritable_as_root(ro) if os.geteuid() == 0 else None
    try:
        args = [test_data / "sites" / "projects_gbk.csv" if a == "SITES" else a for a in command]
        for out in (ro / "x", ro):  # a new folder inside it, and the folder itself
            refused(invoke(*args, "--out", out), "--out")
        assert list(ro.iterdir()) == []  # not even a temporary folder was left
    finally:
        if undo:
            subprocess.run(undo, check=True)
        ro.chmod(0o700)


def test_bad_scheme_refused_before_writing(tmp_path, test_data):
    out = tmp_path / "o"
    out.mkdir()
    (out / "choropleth.png").write_bytes(b"old")
    result = invoke("join", test_data / "towns_stats_gbk.csv", "--key", "镇街", "--value", "示例指标",
                    "--scheme", "nonsense", "--out", out)
    refused(result, "--scheme", "nonsense")
    assert sorted(p.name for p in out.iterdir()) == ["choropleth.png"]


@pytest.mark.parametrize("blocked", ["b.csv", "c.png"])
def test_publish_is_all_or_nothing(tmp_path, blocked):
    out = tmp_path / "out"
    out.mkdir()
    for name in ("a.csv", "b.csv", "c.png", "keep.txt"):
        (out / name).write_text("old " + name, encoding="utf-8")
    if shutil.which("chattr") is None:
        pytest.skip("chattr not available")
    with outdir.staging(out) as tmp:
        for name in ("a.csv", "b.csv", "c.png"):
            (tmp / name).write_text("new " + name, encoding="utf-8")
        if subprocess.run(["chattr", "+i", str(out / blocked)], capture_output=True).returncode != 0:
            pytest.skip("cannot make a file immutable here")
        try:
            with pytest.raises(InputError, match=blocked):
                outdir.publish(tmp, out)
        finally:
            subprocess.run(["chattr", "-i", str(out / blocked)], check=True)
    assert {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()} == {
        n: "old " + n for n in ("a.csv", "b.csv", "c.png", "keep.txt")}
    assert not list(tmp_path.glob(".out.tmp-*"))


def test_publish_replaces_every_file_and_keeps_the_others(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.csv").write_text("old", encoding="utf-8")
    (out / "mine.txt").write_text("user file", encoding="utf-8")
    with outdir.staging(out) as tmp:
        (tmp / "a.csv").write_text("new", encoding="utf-8")
        (tmp / "b.csv").write_text("new", encoding="utf-8")
        outdir.publish(tmp, out)
    assert (out / "a.csv").read_text(encoding="utf-8") == "new" and (out / "mine.txt").exists()
    assert not list(tmp_path.glob(".out.tmp-*"))


def test_stale_temporaries_are_cleaned_safely(tmp_path):
    out = tmp_path / "out"
    old = tmp_path / ".out.tmp-old"
    fresh = tmp_path / ".out.tmp-fresh"
    other = tmp_path / ".other.tmp-old"
    for folder in (old, fresh, other):
        folder.mkdir()
        (folder / "big.bin").write_bytes(b"0" * 1000)
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / ".out.tmp-link"
    link.symlink_to(target)
    day_ago = time.time() - outdir.STALE_AFTER_S - 60
    for path in (old, other):
        os.utime(path, (day_ago, day_ago))
    os.utime(link, (day_ago, day_ago), follow_symlinks=False)
    removed = outdir.clean_stale(out)
    assert removed == [old]
    assert fresh.exists() and other.exists() and link.is_symlink() and target.exists()


def test_killed_run_leftovers_are_removed_by_the_next_run(tmp_path):
    out = tmp_path / "layers_out"
    leftover = tmp_path / ".layers_out.tmp-killed"
    leftover.mkdir()
    day_ago = time.time() - 2 * outdir.STALE_AFTER_S
    os.utime(leftover, (day_ago, day_ago))
    assert invoke("layers", "--format", "geojson", "--out", out).exit_code == 0
    assert not leftover.exists() and (out / "towns.geojson").exists()


# --- CLI numeric options ------------------------------------------------------------------------------------

bad_numbers = st.one_of(
    st.sampled_from(["inf", "-inf", "nan", "1e400", "-1e400", "0", "-5", "1e9", "NaN", "Infinity"]),
    st.floats(max_value=0, allow_nan=False, allow_infinity=False).map(repr),
)


@given(st.sampled_from([("coverage", "places", "--minutes"), ("coverage", "places", "--buffer-m"),
                        ("coverage", "places", "--speed"), ("rasterize", None, "--res")]), bad_numbers)
@SLOW_EXAMPLES
def test_numeric_options_refuse_inf_nan_negative_and_huge(tmp_path_factory, target, value):
    command, argument, option = target
    out = tmp_path_factory.mktemp("num") / "o"
    args = [command] + ([argument] if argument else []) + [option, value, "--out", out]
    result = invoke(*args)
    if option == "--minutes" and value == "1e9":
        pass  # refused like the rest: a day is the cap
    assert result.exit_code == 2, (args, result.output)
    assert option in result.output and "Traceback" not in result.output and not out.exists()


def test_buffer_limit_is_raisable(tmp_path):
    assert "max_buffer_m" in invoke("coverage", "places", "--buffer-m", "2e5", "--out", tmp_path / "o").output
    # raised: the option passes parsing (the network method then needs a cache: a message, exit 2)
    result = invoke("--limit", "max_buffer_m=3e5", "coverage", "places", "--method", "network", "--buffer-m", "2e5",
                    "--cache", tmp_path / "nocache", "--out", tmp_path / "o")
    refused(result, "osm")


def test_minutes_times_speed_is_bounded(tmp_path):
    result = invoke("coverage", "places", "--minutes", "1000", "--mode", "drive", "--out", tmp_path / "o")
    refused(result, "max_buffer_m")


@pytest.mark.parametrize("only", ["99", "0", "foo", ",", ""])
def test_maps_only_unknown_is_refused(tmp_path, only):
    refused(invoke("maps", "--only", only, "--out", tmp_path / "m"), "--only")
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("value", ["EPSG:2385", "EPSG:2415", "epsg:4610", "EPSG:4214", "EPSG:4978", "西安80"])
def test_xian80_beijing54_and_3d_crs_refused(value):
    from wuzhong_geo.coords import parse_crs

    with pytest.raises(InputError, match="unsupported CRS"):
        parse_crs(value)


def test_unknown_encoding_is_a_message(tmp_path):
    from wuzhong_geo.textio import read_text

    path = tmp_path / "t.csv"
    path.write_text("a\n", encoding="utf-8")
    with pytest.raises(InputError, match="--encoding"):
        read_text(path, "nope")


# --- non-UTF-8 input outside the check ---------------------------------------------------------------------

def test_gbk_facilities_csv_for_coverage(tmp_path):
    path = tmp_path / "设施.csv"
    path.write_text("名称,经度,纬度\n吴中博物馆,120.63,31.26\n木渎古镇,120.51,31.26\n", encoding="gbk")
    result = invoke("coverage", path, "--no-map", "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "o" / "coverage_towns.csv").read_text(encoding="utf-8-sig")
    assert "木渎镇" in text


@pytest.mark.parametrize("rows, line", [("名称,lon,lat\n甲,120.6,31.2\n乙,,31.2\n", "3"),
                                        ("名称,lon,lat\n甲,inf,31.2\n", "2"),
                                        ("名称,lon,lat\n甲,abc,31.2\n", "2")])
def test_facilities_without_a_position_are_named(tmp_path, rows, line):
    path = tmp_path / "f.csv"
    path.write_text(rows, encoding="gbk")
    refused(invoke("coverage", path, "--no-map", "--out", tmp_path / "o"), "f.csv", line)


def test_gbk_geojson_for_zonal_by(tmp_path):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    tif = tmp_path / "r.tif"
    with rasterio.open(tif, "w", driver="GTiff", width=100, height=100, count=1, dtype="float32", crs="EPSG:4326",
                       transform=from_origin(120.4, 31.4, 0.005, 0.005)) as dst:
        dst.write(np.ones((1, 100, 100), dtype="float32"))
    zones = tmp_path / "分区.geojson"
    zones.write_bytes(('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"名称":"东片"},'
                       '"geometry":{"type":"Polygon","coordinates":[[[120.5,31.1],[120.6,31.1],[120.6,31.2],'
                       '[120.5,31.2],[120.5,31.1]]]}}]}').encode("gbk"))
    result = invoke("zonal", tif, "--by", zones, "--out", tmp_path / "z.csv")
    assert result.exit_code == 0, result.output
    assert "东片" in (tmp_path / "z.csv").read_text(encoding="utf-8-sig")


def test_zonal_raster_missing_the_district_is_refused(tmp_path):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    tif = tmp_path / "beijing.tif"
    with rasterio.open(tif, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32", crs="EPSG:4326",
                       transform=from_origin(116.0, 40.0, 0.01, 0.01)) as dst:
        dst.write(np.ones((1, 10, 10), dtype="float32"))
    refused(invoke("zonal", tif, "--out", tmp_path / "z.csv"), "beijing.tif")
    assert not (tmp_path / "z.csv").exists()


@pytest.mark.parametrize("content", [b"BZh91AY&SY" + b"\x00" * 64, b"BZh9", b"not bzip at all\n" * 10])
def test_corrupt_osm_bz2(tmp_path, content):
    path = tmp_path / "extract.osm.bz2"
    path.write_bytes(content)
    refused(invoke("osm", "import", path, "--out", tmp_path / "cache"), "extract.osm.bz2")
    assert not (tmp_path / "cache").exists()


# --- never echo a file's content; bilingual refusals for garbage everywhere ----------------------------------

garbage = st.binary(min_size=1, max_size=300)


@given(garbage, st.sampled_from(["csv", "xlsx", "geojson", "zip", "gpkg"]))
@SLOW_EXAMPLES
def test_garbage_files_are_refused_without_echoing_them(tmp_path_factory, body, suffix):
    folder = tmp_path_factory.mktemp("g")
    marker = "SECRETFIRSTLINE9f3"
    path = folder / f"junk.{suffix}"
    path.write_bytes(marker.encode() + b"\x00\xff\xfe" + body)
    runs = [("join", path, "--key", "k", "--value", "v", "--out", folder / "o")]
    if suffix != "xlsx":
        runs.append(("coverage", path, "--no-map", "--out", folder / "c"))
    runs.append(("layers", "--boundaries", path, "--out", folder / "l"))
    for args in runs:
        result = invoke(*args)
        refused(result)
        assert marker not in result.output, result.output


def test_boundaries_with_an_empty_unit_are_refused(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Polygon

    from wuzhong_geo import layers

    towns = layers.towns()[["code", "name", "geometry"]].copy()
    towns.loc[towns.index[3], "geometry"] = Polygon()
    path = tmp_path / "official.gpkg"
    gpd.GeoDataFrame(towns, crs=towns.crs).to_file(path, engine="pyogrio")
    refused(invoke("layers", "--boundaries", path, "--out", tmp_path / "o"), "official.gpkg")


def test_subprocess_exit_code_and_no_traceback(tmp_path):
    """The real console entry: exit status 2 and a message for a hostile YAML, as a user sees it."""
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs(9, 10), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", "from wuzhong_geo.cli import main; main()", "layers", "--zone-rules", str(bomb),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "bomb.yaml" in proc.stderr


def test_docs_list_every_limit_with_its_default_and_env_var():
    doc = (ROOT / "docs" / "limits.md").read_text(encoding="utf-8")
    for name, limit in limits.LIMITS.items():
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"{name} missing from docs/limits.md"
        assert limits.env_name(name) in row and f"--limit {name}=N" in row
        assert f"{int(limit.default):,}" in row, f"{name}: default {limit.default} not in {row}"


# --- the site check's readers and writers -----------------------------------------------------------------

def _check(tmp_path: Path, path: Path, *args: str):
    import pandas as pd

    out = tmp_path / f"out_{path.stem}"
    result = invoke("check", path, "--out", out, "--no-progress", *args)
    assert result.exit_code == 0, result.output
    return pd.read_csv(out / "results.csv", encoding="utf-8-sig", dtype={"row_id": int}), result


row_shapes = st.lists(st.sampled_from(["ok", "extra", "short", "blank", "trailing"]), min_size=1, max_size=12)


@given(row_shapes)
@SLOW_EXAMPLES
def test_every_physical_row_is_one_result_row(tmp_path_factory, shapes):
    folder = tmp_path_factory.mktemp("rows")
    lines, expected = ["名称,经度,纬度"], []
    for i, shape in enumerate(shapes):
        row = [f"项目{i}", f"{120.55 + i / 1000:.4f}", "31.25"]
        if shape == "blank":
            lines.append("")
            continue
        if shape == "extra":
            row.append("多余")
        elif shape == "short":
            row = row[:2]
        elif shape == "trailing":
            row.append("")
        lines.append(",".join(row))
        expected.append((f"项目{i}", "malformed_row" if shape in ("extra", "short") else None, len(lines)))
    if not expected:
        return
    path = folder / "rows.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results, _ = _check(folder, path)
    assert list(results["row_id"]) == list(range(1, len(expected) + 1))
    assert list(results["名称"]) == [name for name, _, _ in expected]
    for (_, status, line), got, message in zip(expected, results["status"], results["message"]):
        if status:
            assert got == status and f"line {line} " in message
        else:
            assert got != "malformed_row"


def test_trailing_delimiter_on_every_line(tmp_path):
    path = tmp_path / "trailing.csv"
    path.write_text("名称,经度,纬度,\n甲,120.60,31.25,\n乙,120.61,31.26,\n", encoding="utf-8")
    results, _ = _check(tmp_path, path)
    assert list(results["status"]) == ["ok", "ok"]


def test_check_results_csv_is_formula_free_and_keeps_the_leading_space(tmp_path):
    path = tmp_path / "payload.csv"
    rows = ["名称,经度,纬度,备注"] + [f'"{p.replace(chr(34), chr(34) * 2)}",120.60,31.25," {p}"' for p in PAYLOADS[:4]]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "o"
    assert invoke("check", path, "--out", out, "--no-progress").exit_code == 0
    for row in csv.reader(io.StringIO((out / "results.csv").read_text(encoding="utf-8-sig"))):
        for cell in row:
            assert not cell.startswith(FORMULA_START) or _number(cell), cell
    text = (out / "results.csv").read_text(encoding="utf-8-sig")
    assert '" =HYPERLINK' in text  # a protecting space is not stripped by the reader


def test_empty_geometries_are_invalid_geometry_rows(tmp_path):
    import geopandas as gpd
    import shapely
    from shapely.geometry import Point, Polygon

    path = tmp_path / "empty.geojson"
    gpd.GeoDataFrame({"名称": ["a", "b", "c"]}, crs="EPSG:4326",
                     geometry=[Point(120.6, 31.25), shapely.from_wkt("POINT EMPTY"), Polygon()]).to_file(path)
    results, _ = _check(tmp_path, path)
    assert list(results["status"]) == ["ok", "invalid_geometry", "invalid_geometry"]


@pytest.mark.parametrize("prj", ["none", "lying 4326"])
def test_projected_numbers_without_a_usable_crs_are_decided_from_the_numbers(tmp_path, prj):
    import geopandas as gpd
    from shapely.geometry import Point

    frame = gpd.GeoDataFrame({"名称": ["a"]}, geometry=[Point(520000, 3458000)], crs="EPSG:4549")
    path = tmp_path / "sites.shp"
    if prj == "none":
        frame.to_file(path)
        path.with_suffix(".prj").unlink()
    else:
        frame.set_crs("EPSG:4326", allow_override=True).to_file(path)
    results, _ = _check(tmp_path, path)
    assert results["status"].iloc[0] in ("ok", "in_taihu_water", "outside_district")
    assert abs(results["wgs84_lon"].iloc[0] - 120.2) < 0.5


def test_globe_polygon_and_degrees_declared_as_3857(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point, Polygon

    globe = tmp_path / "globe.geojson"
    gpd.GeoDataFrame({"名称": ["g"]}, crs="EPSG:4326",
                     geometry=[Polygon([(-180, -90), (180, -90), (180, 90), (-180, 90)])]).to_file(globe)
    results, _ = _check(tmp_path, globe)
    assert results["status"].iloc[0] == "invalid_geometry" and "200" in results["message"].iloc[0]
    degrees = tmp_path / "deg.csv"
    degrees.write_text("名称,x,y\n甲,120.6,31.25\n", encoding="utf-8")
    _, result = _check(tmp_path, degrees, "--crs", "EPSG:3857")
    assert "--crs wgs84" in result.output


def test_excel_booleans_formulas_and_traditional_headers(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["名稱", "經度", "緯度"])
    sheet.append(["甲", 120.6, 31.25])
    sheet.append(["乙", True, False])
    sheet.append(["丙", "=120+0.6", 31.25])
    path = tmp_path / "book.xlsx"
    book.save(path)
    results, _ = _check(tmp_path, path)
    assert list(results["status"]) == ["ok", "invalid_coordinates", "invalid_coordinates"]
    assert "TRUE/FALSE" in results["message"].iloc[1] and "公式无缓存值" in results["message"].iloc[2]


def test_check_xlsx_bomb_refused_before_inflating(tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    _xlsx_bomb(bomb, 64 << 20)
    start = time.process_time()
    refused(invoke("check", bomb, "--out", tmp_path / "o"), "bomb.xlsx", "max_compression_ratio")
    assert time.process_time() - start < 5 and not (tmp_path / "o").exists()


@pytest.mark.parametrize("args, named", [
    (["--buffer-m", "inf"], "--buffer-m"), (["--buffer-m", "1e9"], "--buffer-m"), (["--buffer-m", "-3"], "--buffer-m"),
    (["--encoding", "nope"], "--encoding"), (["--crs", "EPSG:2385"], "EPSG:2385"), (["--crs", "EPSG:4978"], "EPSG:4978"),
    (["--partitions", "0", "--engine", "dask"], "--partitions"),
])
def test_check_options_refused_before_reading(tmp_path, args, named):
    sample = ROOT / "data" / "samples" / "projects.csv"
    result = invoke("check", sample, "--out", tmp_path / "o", *args)
    assert result.exit_code == 2 and named in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("which", ["empty", "a file", "under a file", "proc"])
def test_check_out_refused_up_front(tmp_path, which):
    sample = ROOT / "data" / "samples" / "projects.csv"
    refused(invoke("check", sample, "--out", _bad_outs(tmp_path)[which]), "--out")


def test_check_output_replaced_all_or_nothing(tmp_path):
    if shutil.which("chattr") is None:
        pytest.skip("chattr not available")
    sample = ROOT / "data" / "samples" / "projects.csv"
    out = tmp_path / "o"
    assert invoke("check", sample, "--out", out, "--no-progress").exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    if subprocess.run(["chattr", "+i", str(out / "results.xlsx")], capture_output=True).returncode != 0:
        pytest.skip("cannot make a file immutable here")
    try:
        result = invoke("check", sample, "--out", out, "--no-progress", "--buffer-m", "50")
    finally:
        subprocess.run(["chattr", "-i", str(out / "results.xlsx")], check=True)
    refused(result, "results.xlsx")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not list(tmp_path.glob(".o.tmp-*"))
