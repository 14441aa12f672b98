"""Hostile-input campaign (issue 15): every command against generated broken inputs, outcomes tallied.

Run from the repository root: ``python benchmarks/hostile_campaign.py [--quick]``. Each run is
the CLI in-process (``typer.testing.CliRunner``) and ends as one of:

* ``accepted``  exit 0 (for ``check``: one result row per physical input row, verified);
* ``refused``   exit 2 with a bilingual message and no traceback;
* ``BAD``       anything else: a traceback, another exit code, a refusal without both languages,
  a ``check`` that lost or added rows, or an exception a library swallowed and Python printed
  ("Exception ignored in ...", e.g. raised inside a pyarrow callback), whatever the exit code.

The web app's upload path (``wuzhong_geo.app.pipeline.preview`` / ``check``, what ``serve`` runs on
an uploaded file) is exercised the same way: InputError is its refusal, any other exception is BAD.
Prints a table per command and input class, and every BAD case with its first error line.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import shutil
import sys
import tempfile
import time
import traceback
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from typer.testing import CliRunner  # noqa: E402

from wuzhong_geo import limits  # noqa: E402
from wuzhong_geo.cli import app  # noqa: E402
from wuzhong_geo.errors import InputError  # noqa: E402

SITES = ROOT / "tests" / "data" / "sites"
TABLE = ROOT / "tests" / "data" / "towns_stats_gbk.csv"


# --- broken inputs, by class -------------------------------------------------------------------------

def _csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def site_tables(folder: Path) -> dict[str, tuple[str, Path]]:
    """Broken project lists (CSV/TXT/XLSX): name -> (class, path)."""
    head = "名称,经度,纬度,备注\n"
    ok = "木渎古镇,120.51259,31.25975,x\n"
    out: dict[str, tuple[str, Path]] = {}

    def add(cls: str, name: str, text: str | bytes, encoding: str = "utf-8") -> None:
        path = folder / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
        out[name] = (cls, path)

    for i, start in enumerate(["=", "+", "-", "@", "\t", "\r", " =", "=HYPERLINK(\"http://x\")"]):
        add("formula", f"formula{i}.csv", head + f'"{start}cmd|\' /C calc\'!A0",120.6,31.26,"{start}1+1"\n' + ok)
    add("fields", "extra.csv", head + ok + "多,120.6,31.26,x,y,z\n" + ok)
    add("fields", "short.csv", head + ok + "少,120.6\n" + ok)
    add("fields", "trailing_all.csv", "名称,经度,纬度,\n" + "甲,120.6,31.26,\n" * 5)
    add("fields", "only_commas.csv", head + ",,,\n,,,\n")
    add("fields", "no_coordinate_columns.csv", "a,b,c\n1,2,3\n")
    add("fields", "dup_headers.csv", "经度,经度,纬度,纬度\n120.6,120.7,31.26,31.27\n")
    add("fields", "unbalanced_quote.csv", head + '"未闭合,120.6,31.26,x\n' + ok)
    add("fields", "nul_bytes.csv", (head + "甲\x00,120.6,31.26,x\n").encode())
    add("fields", "header_only.csv", head)
    add("fields", "blank_lines.csv", head + "\n\n   \n" + ok + "\n")
    add("fields", "long_line.csv", head + "长" * 200_000 + ",120.6,31.26,x\n")
    add("fields", "semicolon.csv", "名称;经度;纬度\n甲;120,6;31,26\n")
    add("bomb", "wide.csv", ",".join(f"c{i}" for i in range(3_000)) + "\n" + ",".join("1" * 3_000) + "\n")
    add("bomb", "very_wide.csv", ",".join(f"c{i}" for i in range(200_000)) + "\n")
    add("encoding", "gbk.csv", head + ok, "gbk")
    add("encoding", "big5.csv", "名稱,經度,緯度\n木瀆,120.51,31.26\n", "big5")
    add("encoding", "utf16.csv", head + ok, "utf-16")
    add("encoding", "mixed.csv", (head + ok).encode() + "木渎,120.5,31.2,x\n".encode("gbk") + b"\xff\xfe\x80,1,2\n")
    add("encoding", "binary.csv", bytes(range(256)) * 40)
    add("encoding", "bom_only.csv", b"\xef\xbb\xbf")
    add("encoding", "empty.csv", b"")
    add("coordinates", "inf_nan.csv", head + "甲,inf,nan,x\n乙,1e400,-1e400,x\n丙,NaN,31.2,x\n" + ok)
    add("coordinates", "booleans.csv", head + "甲,TRUE,FALSE,x\n" + ok)
    add("coordinates", "metres_3857.csv", "名称,x,y,坐标系\n甲,13419000,3667000,EPSG:3857\n乙,120.6,31.26,EPSG:3857\n")
    add("coordinates", "xian_rows.csv", "名称,经度,纬度,坐标系\n甲,120.6,31.26,西安80\n乙,120.6,31.26,EPSG:2385\n")
    add("coordinates", "wkt_empty.csv", "名称,WKT\n甲,POINT EMPTY\n乙,POLYGON EMPTY\n丙,GEOMETRYCOLLECTION EMPTY\n丁,not wkt\n")
    add("coordinates", "wkt_globe.csv", "名称,WKT\n甲,\"POLYGON((-180 -90,180 -90,180 90,-180 90,-180 -90))\"\n")
    add("coordinates", "dms_garbage.csv", head + "甲,120°99′99″,31°61′0″,x\n")
    add("coordinates", "parcel_txt.txt", "[属性描述]\n坐标系=西安80\n[地块坐标]\n4,0.1,1,甲,面,,工业,,@\nJ1,1,3460000,40500000\n")
    return out


def xlsx_inputs(folder: Path) -> dict[str, tuple[str, Path]]:
    """Broken workbooks: zip bombs, corrupt zips, formulas without cached values."""
    import openpyxl

    out = {}
    bomb = folder / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(b'<worksheet><dimension ref="A1:B2"/><sheetData>')
            for _ in range(64):
                f.write(b" " * (1 << 20))
            f.write(b"</sheetData></worksheet>")
    out["bomb.xlsx"] = ("bomb", bomb)
    corrupt = folder / "corrupt.xlsx"
    corrupt.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    out["corrupt.xlsx"] = ("encoding", corrupt)
    old = folder / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 500)
    out["old.xls"] = ("encoding", old)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["名称", "经度", "纬度", "备注"])
    sheet.append(["公式", "=120+0.6", "=31+0.26", "=HYPERLINK(\"http://x\")"])
    sheet.append(["布尔", True, False, "=1+1"])
    sheet.append(["正常", 120.6, 31.26, "@SUM(A1)"])
    formulas = folder / "formulas.xlsx"
    book.save(formulas)
    out["formulas.xlsx"] = ("formula", formulas)
    return out


def vector_inputs(folder: Path) -> dict[str, tuple[str, Path]]:
    """Broken vector files: empty geometries, bad CRS, encodings, damaged files."""
    import geopandas as gpd
    import shapely

    out = {name: (cls, SITES / name) for name, cls in [
        ("facilities_gbk.zip", "encoding"), ("facilities_latin1.zip", "encoding"),
        ("facilities_xian80.zip", "crs"), ("redlines_gbk.zip", "encoding"),
        ("broken_selfintersect.geojson", "geometry")]}

    def add(cls, name, text):
        path = folder / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        out[name] = (cls, path)

    feature = '{{"type":"Feature","properties":{{"名称":"甲"}},"geometry":{}}}'
    fc = '{{"type":"FeatureCollection","features":[{}]}}'
    add("geometry", "point_empty.geojson", fc.format(feature.format('{"type":"Point","coordinates":[]}')))
    add("geometry", "polygon_no_rings.geojson", fc.format(feature.format('{"type":"Polygon","coordinates":[]}')))
    add("geometry", "null_geometry.geojson", fc.format(feature.format("null")))
    add("geometry", "globe.geojson", fc.format(feature.format(
        '{"type":"Polygon","coordinates":[[[-180,-90],[180,-90],[180,90],[-180,90],[-180,-90]]]}')))
    add("geometry", "no_features.geojson", fc.format(""))
    add("encoding", "truncated.geojson", fc.format(feature.format('{"type":"Point","coordinates":[120.6,31.26]}'))[:60])
    add("encoding", "gbk.geojson", fc.format(feature.format('{"type":"Point","coordinates":[120.6,31.26]}'))
        .encode("gbk"))
    add("crs", "xian.geojson", json.dumps({"type": "FeatureCollection", "crs": {
        "type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2385"}}, "features": [
        {"type": "Feature", "properties": {"名称": "甲"}, "geometry": {"type": "Point",
                                                                      "coordinates": [40500000, 3460000]}}]}))
    add("crs", "metres_no_crs.geojson", fc.format(feature.format(
        '{"type":"Point","coordinates":[500000.5,3460000.5]}')))
    add("encoding", "not_a_zip.zip", b"PK junk")
    traversal = folder / "traversal.zip"
    with zipfile.ZipFile(traversal, "w") as z:
        z.writestr("../../evil.shp", b"x")
        z.writestr("../../evil.dbf", b"x")
    out["traversal.zip"] = ("bomb", traversal)
    points = gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[shapely.Point(120.6, 31.26)], crs=4326)
    gpkg = folder / "xian.gpkg"
    points.to_crs(4549).set_crs(2385, allow_override=True).to_file(gpkg, engine="pyogrio")
    out["xian.gpkg"] = ("crs", gpkg)
    empty_gpkg = folder / "empty_geom.gpkg"
    gpd.GeoDataFrame({"名称": ["甲", "乙"]}, geometry=[shapely.Point(), None], crs=4326).to_file(
        empty_gpkg, engine="pyogrio")
    out["empty_geom.gpkg"] = ("geometry", empty_gpkg)
    shp = folder / "noshx"
    shp.mkdir()
    points.to_file(shp / "p.shp", engine="pyogrio")
    (shp / "p.shx").unlink()
    out["noshx.shp"] = ("encoding", shp / "p.shp")
    return out


def yaml_inputs(folder: Path) -> dict[str, tuple[str, Path]]:
    out = {}
    lines = ['a0: &a0 ["lol"]'] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    for name, text in [("laughs.yaml", "\n".join(lines) + "\n"), ("python_tag.yaml", "x: !!python/object/apply:os.system ['echo']\n"),
                       ("syntax.yaml", "a: [1, 2\nb: {\n"), ("empty.yaml", ""), ("list.yaml", "- 1\n- 2\n"),
                       ("binary.yaml", "\x00\x01\x02")]:
        path = folder / name
        path.write_text(text, encoding="utf-8")
        out[name] = ("yaml", path)
    return out


def rasters(folder: Path) -> dict[str, tuple[str, Path]]:
    import rasterio
    from rasterio.transform import from_origin

    out = {}
    for name, crs, origin in [("ok.tif", "EPSG:4326", (120.4, 31.4)), ("nocrs.tif", None, (120.4, 31.4)),
                              ("xian.tif", "EPSG:4610", (120.4, 31.4)), ("far.tif", "EPSG:4326", (10.0, 50.0))]:
        path = folder / name
        with rasterio.open(path, "w", driver="GTiff", width=60, height=60, count=1, dtype="float32", crs=crs,
                           transform=from_origin(*origin, 0.01, 0.01)) as dst:
            dst.write(np.ones((1, 60, 60), dtype="float32"))
        out[name] = ("raster", path)
    fake = folder / "fake.tif"
    fake.write_bytes(b"II*\x00garbage")
    out["fake.tif"] = ("raster", fake)
    return out


BAD_NUMBERS = ["inf", "-inf", "nan", "", "-1", "0", "1e400", "1e9", "abc"]


def bad_outs(folder: Path) -> dict[str, str]:
    a_file = folder / "a_file.txt"
    a_file.write_text("x", encoding="utf-8")
    return {"empty": "", "a_file": str(a_file), "under_a_file": str(a_file / "sub"), "proc": "/proc/wuzhong_x",
            "sys": "/sys/kernel/wuzhong_x"}


# --- running ---------------------------------------------------------------------------------------

runner = CliRunner()


def _bilingual(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text) and any(ch.isascii() and ch.isalpha() for ch in text)


def physical_rows(path: Path) -> int | None:
    """Data records the check must return for a delimited text file (None: not a plain CSV)."""
    if path.suffix.lower() != ".csv":
        return None
    from wuzhong_geo.textio import detect_encoding

    try:
        codec = detect_encoding(path)
        text = path.read_text(encoding=codec)
    except Exception:  # noqa: BLE001 - the check itself decides; this is only the verifier
        return None
    from wuzhong_geo.inputs.detect import sniff_delimiter

    lines = text.splitlines()
    sep = sniff_delimiter(lines[:30])
    records = list(csv.reader(lines[1:], delimiter=sep))  # header on the first line in these fixtures
    return sum(1 for r in records if r and not (len(r) == 1 and not r[0].strip()))


@contextlib.contextmanager
def unraisable(seen: list[str]):
    """Collect exceptions Python would print as "Exception ignored in ..." (a traceback on stderr)."""
    previous = sys.unraisablehook

    def hook(info) -> None:
        seen.append(f"unraisable {type(info.exc_value).__name__} in {info.object!r}"[:200])

    sys.unraisablehook = hook
    try:
        yield seen
    finally:
        sys.unraisablehook = previous


def run_cli(args: list, verify_rows: tuple[Path, Path] | None = None) -> tuple[str, str]:
    limits.reset()
    with unraisable([]) as swallowed:
        outcome = _run_cli(args, verify_rows)
    return ("BAD", swallowed[0]) if swallowed and outcome[0] != "BAD" else outcome


def _run_cli(args: list, verify_rows: tuple[Path, Path] | None) -> tuple[str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    text = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tb = "".join(traceback.format_exception(result.exception)).strip().splitlines()
        return "BAD", f"{type(result.exception).__name__}: {tb[-1][:200]}"
    if result.exit_code == 0:
        if verify_rows is not None:
            src, out = verify_rows
            want = physical_rows(src)
            summary = out / "summary.json"
            if want is not None and summary.exists():
                got = json.loads(summary.read_text(encoding="utf-8"))["rows"]
                if got != want:
                    return "BAD", f"{got} result rows for {want} physical rows"
        return "accepted", ""
    if result.exit_code == 2 and "Traceback" not in text and _bilingual(text):
        return "refused", ""
    return "BAD", f"exit {result.exit_code}: {text.strip().splitlines()[-1][:200] if text.strip() else ''}"


def run_app(kind: str, path: Path, out: Path) -> tuple[str, str]:
    with unraisable([]) as swallowed:
        outcome = _run_app(kind, path, out)
    return ("BAD", swallowed[0]) if swallowed and outcome[0] != "BAD" else outcome


def _run_app(kind: str, path: Path, out: Path) -> tuple[str, str]:
    from wuzhong_geo.app import pipeline as app_pipeline

    try:
        if kind == "preview":
            app_pipeline.preview(path, {})
        else:
            app_pipeline.check(path, out, {}, None, lambda done, total: None)
    except InputError as exc:
        return ("refused", "") if _bilingual(str(exc)) else ("BAD", f"not bilingual: {str(exc)[:200]}")
    except Exception as exc:  # noqa: BLE001 - that is what the campaign looks for
        return "BAD", f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    return "accepted", ""


def campaign(folder: Path, quick: bool) -> list[tuple[str, str, str, str, str]]:
    """Run every command on every input class; return (command, class, case, outcome, detail)."""
    tables, books, vectors = site_tables(folder), xlsx_inputs(folder), vector_inputs(folder)
    yamls, tifs, outs = yaml_inputs(folder), rasters(folder), bad_outs(folder)
    runs = []
    n = 0

    def out_dir() -> Path:
        nonlocal n
        n += 1
        return folder / f"out{n}"

    def record(command, cls, case, outcome):
        runs.append((command, cls, case, *outcome))

    site_inputs = {**tables, **books, **vectors}
    for name, (cls, path) in site_inputs.items():
        out = out_dir()
        record("check", cls, name, run_cli(["check", path, "--out", out, "--no-progress"], (path, out)))
        record("serve upload: preview", cls, name, run_app("preview", path, out))
        record("serve upload: check", cls, name, run_app("check", path, out_dir()))
    dask_cases = [n for n, (c, p) in tables.items() if p.suffix == ".csv"][: 6 if quick else 40]
    for name in dask_cases:
        cls, path = tables[name]
        out = out_dir()
        record("check --engine dask", cls, name,
               run_cli(["check", path, "--out", out, "--engine", "dask", "--formats", "csv"], (path, out)))
    for option in ("--buffer-m",):
        for value in BAD_NUMBERS:
            record("check", "option", f"{option} {value!r}",
                   run_cli(["check", SITES / "projects_gbk.csv", "--out", out_dir(), option, value, "--no-progress"]))
    for option, value in [("--crs", "EPSG:2385"), ("--crs", "nope"), ("--crs", ""), ("--encoding", "nope"),
                          ("--encoding", ""), ("--formats", "pdf"), ("--formats", ""), ("--lon-col", "x"),
                          ("--sheet", "nope"), ("--layer", "nope"), ("--partitions", "0"), ("--engine", "spark"),
                          ("--rules", str(yamls["laughs.yaml"][1])), ("--rules", str(yamls["python_tag.yaml"][1])),
                          ("--rules", str(yamls["syntax.yaml"][1])), ("--boundaries", str(vectors["xian.gpkg"][1])),
                          ("--boundaries", str(vectors["globe.geojson"][1])), ("--boundaries", str(tables["gbk.csv"][1]))]:
        record("check", "option", f"{option} {value!r}",
               run_cli(["check", SITES / "projects_gbk.csv", "--out", out_dir(), option, value, "--no-progress"]))
    for which, value in outs.items():
        for command in (["check", SITES / "projects_gbk.csv", "--no-progress"], ["layers"], ["indicators"],
                        ["coverage", "places", "--no-map"], ["join", TABLE, "--key", "镇街", "--value", "示例指标"],
                        ["zonal", tifs["ok.tif"][1]], ["webmap"], ["rasterize", "--res", "500"], ["maps", "--only", "01"],
                        ["all", "--no-atlas"]):
            record(command[0], "out", f"--out {which}", run_cli([*command, "--out", value]))
    for lon, lat in [("inf", "31.2"), ("nan", "nan"), ("", ""), ("120.6", "1e400"), ("abc", "31"), ("200", "95"),
                     ("13419000", "3667000")]:
        record("where", "option", f"{lon!r} {lat!r}", run_cli(["where", lon, lat]))
    for crs in ("EPSG:2385", "nope", "", "EPSG:4978"):
        record("where", "option", f"--crs {crs!r}", run_cli(["where", "120.6", "31.26", "--crs", crs]))
    for value in BAD_NUMBERS:
        record("where", "option", f"--radius-m {value!r}", run_cli(["where", "120.6", "31.26", "--radius-m", value]))
    for name, (cls, path) in {**tables, **books}.items():
        record("join", cls, name, run_cli(["join", path, "--key", "名称", "--value", "经度", "--out", out_dir()]))
    for option, value in [("--scheme", "nonsense"), ("--key", "nope"), ("--value", "nope"), ("--sheet", "9")]:
        args = {"--key": "镇街", "--value": "示例指标", option: value}
        record("join", "option", f"{option} {value!r}",
               run_cli(["join", TABLE, *[x for kv in args.items() for x in kv], "--out", out_dir()]))
    for name, (cls, path) in {**tifs, "projects_gbk.csv": ("encoding", SITES / "projects_gbk.csv")}.items():
        record("zonal", cls, name, run_cli(["zonal", path, "--out", out_dir() / "z.csv"]))
    for name, (cls, path) in {**vectors, **{k: v for k, v in tables.items() if k in ("gbk.csv", "binary.csv")}}.items():
        record("zonal --by", cls, name, run_cli(["zonal", tifs["ok.tif"][1], "--by", path, "--out", out_dir() / "z.csv"]))
    for value in ("nope", "mean,nope", "", ","):
        record("zonal", "option", f"--stats {value!r}", run_cli(["zonal", tifs["ok.tif"][1], "--stats", value,
                                                                  "--out", out_dir() / "z.csv"]))
    for name, (cls, path) in {**vectors, **tables}.items():
        record("coverage", cls, name, run_cli(["coverage", path, "--no-map", "--out", out_dir()]))
    for option in ("--minutes", "--speed", "--buffer-m"):
        for value in BAD_NUMBERS:
            record("coverage", "option", f"{option} {value!r}",
                   run_cli(["coverage", "places", option, value, "--no-map", "--out", out_dir()]))
    for value in ("places:nope", "osm:culture", "nope", ""):
        record("coverage", "option", f"FACILITIES {value!r}", run_cli(["coverage", value, "--no-map", "--out", out_dir()]))
    for name, (cls, path) in {**vectors, **{k: v for k, v in tables.items() if cls != "formula"}}.items():
        if quick and cls in ("fields", "formula"):
            continue
        record("webmap --sites", cls, name, run_cli(["webmap", "--sites", path, "--out", out_dir() / "w.html"]))
    for option, value in [("--tiles", "nope"), ("--tiles", "tianditu")]:
        record("webmap", "option", f"{option} {value!r}", run_cli(["webmap", option, value, "--out", out_dir() / "w.html"]))
    for name, (cls, path) in yamls.items():
        for command in (["maps", "--only", "01"], ["webmap"], ["where", "120.6", "31.26"], ["indicators"]):
            extra = ["--out", out_dir() / ("w.html" if command[0] == "webmap" else "")] if command[0] != "where" else []
            if command[0] == "indicators":
                continue  # no --zone-rules
            record(command[0], cls, f"--zone-rules {name}", run_cli([*command, "--zone-rules", path, *extra]))
    for option, value in [("--only", "99"), ("--only", ""), ("--dpi", "0"), ("--dpi", "1e9"), ("--size", "A0"),
                          ("--date", "2025-13-45"), ("--format", "bmp"), ("--dem", str(tifs["fake.tif"][1])),
                          ("--dem", str(tifs["far.tif"][1])), ("--dem", str(tifs["nocrs.tif"][1]))]:
        record("maps", "option", f"{option} {value!r}", run_cli(["maps", "--only", "01", option, value,
                                                                 "--out", out_dir()]))
    for option, value in [("--by", "nope"), ("--boundaries", str(vectors["xian.gpkg"][1])),
                          ("--boundaries", str(vectors["point_empty.geojson"][1])),
                          ("--boundaries", str(tables["binary.csv"][1]))]:
        record("indicators", "option", f"{option} {value!r}", run_cli(["indicators", option, value, "--out", out_dir()]))
    for value in BAD_NUMBERS:
        record("rasterize", "option", f"--res {value!r}", run_cli(["rasterize", "--res", value, "--out", out_dir()]))
    for name in ("binary.csv", "very_wide.csv", "bomb.xlsx", "xian.gpkg", "laughs.yaml", "empty.csv"):
        cls, path = {**site_inputs, **yamls}[name]
        record("all", cls, f"--sites {name}", run_cli(["all", "--no-atlas", "--sites", path, "--out", out_dir(),
                                                     "--maps", out_dir()]))
    for assignment in ("max_rows=0", "max_rows=inf", "nope=1", "max_rows", "max_rows=-5", "max_rows=nan"):
        record("--limit", "option", assignment, run_cli(["--limit", assignment, "layers", "--out", out_dir()]))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer Dask and web-map runs")
    parser.add_argument("--json", type=Path, help="also write every run to this JSON file")
    args = parser.parse_args()
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="hostile-"))
    try:
        runs = campaign(folder, args.quick)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    table: dict[str, Counter] = defaultdict(Counter)
    classes = Counter()
    for command, cls, _case, outcome, _ in runs:
        table[command][outcome] += 1
        classes[cls] += 1
    print(f"{len(runs)} runs, {len({r[2] for r in runs})} distinct inputs/options, "
          f"{math.ceil(time.perf_counter() - started)} s")
    print(f"{'command':28} {'runs':>5} {'accepted':>9} {'refused':>8} {'BAD':>5}")
    for command, counts in sorted(table.items()):
        print(f"{command:28} {sum(counts.values()):5} {counts['accepted']:9} {counts['refused']:8} {counts['BAD']:5}")
    print("classes:", dict(classes))
    bad = [r for r in runs if r[3] == "BAD"]
    for command, cls, case, _, detail in bad:
        print(f"BAD  {command} [{cls}] {case}: {detail}")
    if args.json:
        args.json.write_text(json.dumps(runs, ensure_ascii=False, indent=1), encoding="utf-8")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
