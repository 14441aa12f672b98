"""Write a site check to a folder, atomically: results.csv/.xlsx/.gpkg, summary.json, report.html.

Everything is written chunk by chunk into a temporary folder next to the target (same file
system), then moved into place; a run that fails leaves the target as it was.
"""

from __future__ import annotations

import codecs
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyogrio

from wuzhong_geo.check import ZONE_PART_COLUMNS, CheckResult, CheckRun, open_check
from wuzhong_geo.report import ReportData, render_report
from wuzhong_geo.xlsx import XlsxWriter

OUTPUT_FILES = ("results.csv", "results.xlsx", "results.gpkg", "summary.json", "report.html")

#: Chinese headers of the XLSX result sheet (the CSV and GPKG keep the snake_case names).
RESULT_LABELS: dict[str, tuple[str, str]] = {
    "row_id": ("行号", "Input row number (1 = first data row)"),
    "status": (
        "状态",
        "ok / outside_district / in_taihu_water / invalid_coordinates / invalid_geometry",
    ),
    "message": ("说明", "What the status means for this row, in Chinese"),
    "code": ("镇街代码", "9-digit NBS code of the town (main town for polygons/lines)"),
    "name": ("镇（街道）", "Town or street"),
    "management_zone": ("管理主体", "Management zone"),
    "functional_zone": ("功能区", "Functional zone (largest share for polygons/lines)"),
    "subregion": ("片区", "Sub-region (an interpretation)"),
    "functional_zones": ("涉及功能区", "Every functional zone the site touches (share ≥ 0.1 %)"),
    "zone_breakdown": ("功能区明细", "Area (m², 公顷, 亩) or length per zone, with share"),
    "towns": ("涉及镇（街道）", "Every town the site touches"),
    "geometry_type": ("几何类型", "point / line / polygon"),
    "area_m2": ("面积（平方米）", "Polygon or buffer area, m²"),
    "area_ha": ("面积（公顷）", "Area in hectares (公顷)"),
    "area_mu": ("面积（亩）", "Area in mu (亩 = 10000/15 m²)"),
    "length_m": ("长度（米）", "Line length, m"),
    "land_share": ("陆域占比", "Share on Wuzhong's land"),
    "taihu_share": ("太湖水域占比", "Share in Wuzhong's Taihu waters"),
    "taihu_shore_m": ("距太湖湖岸（米）", "Distance to the Taihu shore, m"),
    "district_distance_m": ("距区界（米）", "Distance to the district (sites outside it), m"),
    "rule_category": ("规则类别", "Project category used by the rules"),
    "input_town_code": ("填报镇街代码", "Town code of the input's town column"),
    "town_match": ("填报镇街一致", "Input town equals the located town"),
    "crosses_zone_boundary": ("跨功能区", "Touches more than one functional zone"),
    "crosses_town_boundary": ("跨镇街", "Touches more than one town"),
    "coordinates_swapped": ("经纬度填反", "Latitude/longitude were swapped in the input"),
    "flags": ("命中规则", "Rule ids that fired"),
    "flag_level": ("提示级别", "warning / note"),
    "flag_notes": ("提示", "Rule messages"),
    "wgs84_lon": ("经度（WGS84）", "Longitude of the site (point on surface), WGS84"),
    "wgs84_lat": ("纬度（WGS84）", "Latitude, WGS84"),
    "site_name": ("名称", "Site name"),
    "share": ("占比", "Share of the site"),
}


def _label(column: str) -> tuple[str, str]:
    if column in RESULT_LABELS:
        return RESULT_LABELS[column]
    if column.startswith("nearest_"):
        from wuzhong_geo.style import INFRASTRUCTURE_KINDS

        kind = column[len("nearest_") :]
        return (f"最近{INFRASTRUCTURE_KINDS.get(kind, (kind,))[0]}", f"Nearest {kind} (name)")
    if column.startswith("dist_") and column.endswith("_m"):
        from wuzhong_geo.style import INFRASTRUCTURE_KINDS

        kind = column[len("dist_") : -2]
        return (
            f"距{INFRASTRUCTURE_KINDS.get(kind, (kind,))[0]}（米）",
            f"Distance to the nearest {kind}, m",
        )
    return (column, "input column")


class _Summary:
    """Counts accumulated over chunks."""

    def __init__(self):
        self.rows = 0
        self.counters = {
            k: Counter()
            for k in (
                "status",
                "flag_level",
                "functional_zone",
                "town",
                "management_zone",
                "subregion",
                "geometry_type",
                "rule_category",
            )
        }
        self.flags = Counter()
        self.swapped = 0

    def add(self, sites: pd.DataFrame) -> None:
        self.rows += len(sites)
        for key, col in (
            ("status", "status"),
            ("flag_level", "flag_level"),
            ("functional_zone", "functional_zone"),
            ("town", "name"),
            ("management_zone", "management_zone"),
            ("subregion", "subregion"),
            ("geometry_type", "geometry_type"),
            ("rule_category", "rule_category"),
        ):
            counts = sites[col].astype("string").fillna("").value_counts()
            self.counters[key].update(
                {str(k): int(v) for k, v in counts.items() if k != "" or key == "flag_level"}
            )
        flags = sites["flags"].astype("string").fillna("")
        exploded = flags[flags != ""].str.split(";").explode()
        self.flags.update({str(k): int(v) for k, v in exploded.value_counts().items()})
        self.swapped += int(sites["coordinates_swapped"].fillna(False).sum())


def _ordered(counter: Counter, order: list[str] | None = None) -> dict:
    if order:
        keys = [k for k in order if k in counter] + sorted(k for k in counter if k not in order)
    else:
        keys = [k for k, _ in counter.most_common()]
    return {k: counter[k] for k in keys}


def _prepare_for_files(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns to text so every chunk has the same field types (GPKG appends need it)."""
    out = frame.copy()
    for col in out.columns:
        if col == "geometry":
            continue
        dtype = out[col].dtype
        if dtype == object or isinstance(dtype, pd.CategoricalDtype):
            out[col] = out[col].astype("string")
    return out


def _append_csv(path: Path, frame: pd.DataFrame, first: bool) -> None:
    """Append rows with Arrow's C++ CSV writer; the file starts with a UTF-8 BOM for Excel."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with open(path, "wb" if first else "ab") as f:
        if first:
            f.write(codecs.BOM_UTF8)
        pa_csv.write_csv(
            table,
            f,
            write_options=pa_csv.WriteOptions(include_header=first, quoting_style="needed"),
        )


def _append_gpkg(path: Path, layer: str, frame: gpd.GeoDataFrame, first: bool) -> None:
    """Append to a GeoPackage layer through GDAL's Arrow interface (much faster than row by row)."""
    pyogrio.write_dataframe(
        frame,
        path,
        layer=layer,
        driver="GPKG",
        append=not first,
        geometry_type="Unknown",
        promote_to_multi=False,
        use_arrow=True,
    )


def write_check(run: CheckRun, out_dir: str | Path, *, progress: bool | None = None) -> dict:
    """Run ``run`` chunk by chunk, write every output into ``out_dir`` atomically; return the summary."""
    out_dir = Path(out_dir)
    parent = out_dir.parent if str(out_dir.parent) else Path(".")
    created_parent = not parent.exists()
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out_dir.name}.tmp-"))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the result folder should not be
    t0 = time.time()
    timing: dict[str, float] = {}
    try:
        summary = _write_all(run, tmp, progress, timing)
        summary["timing_s"] = {k: round(v, 2) for k, v in timing.items()}
        summary["timing_s"]["total"] = round(time.time() - t0, 2)
        _dump_json(summary, tmp / "summary.json")
        _move_into_place(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if created_parent:
            shutil.rmtree(parent, ignore_errors=True)
        raise
    return summary


def _dump_json(summary: dict, path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(summary, f, ensure_ascii=False, indent=2, default=str)


def _move_into_place(tmp: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        os.replace(tmp, out_dir)
        return
    if not out_dir.is_dir():
        raise FileExistsError(f"{out_dir} exists and is not a folder")
    for name in OUTPUT_FILES:
        os.replace(tmp / name, out_dir / name)
    shutil.rmtree(tmp, ignore_errors=True)


def _progress_bar(total: int, enabled: bool | None):
    enabled = sys.stderr.isatty() if enabled is None else enabled
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="行", desc="核查 check", file=sys.stderr, dynamic_ncols=True)


def _timed(iterator, timing: dict, key: str):
    """Yield from ``iterator``, adding the time spent producing items to ``timing[key]``."""
    while True:
        t = time.time()
        try:
            item = next(iterator)
        except StopIteration:
            return
        finally:
            timing[key] += time.time() - t
        yield item


def _write_all(run: CheckRun, tmp: Path, progress: bool | None, timing: dict) -> dict:
    info = run.info
    columns = run.columns()
    table_cols = [c for c in columns if c != "geometry"]
    csv_path, gpkg_path = tmp / "results.csv", tmp / "results.gpkg"
    xlsx = XlsxWriter(tmp / "results.xlsx")
    headers = [
        _label(c)[0] if c in RESULT_LABELS or c.startswith(("nearest_", "dist_")) else c
        for c in table_cols
    ]
    widths = [
        8 if c == "row_id" else 40 if c in ("message", "zone_breakdown", "flag_notes") else 14
        for c in table_cols
    ]
    sheets = {"results": xlsx.add_sheet("核查结果", table_cols, headers, widths)}
    summary = _Summary()
    report = ReportData(name_col=info.name_col)
    bar = _progress_bar(info.rows, progress)
    first = True
    first_parts = True
    timing.update(check=0.0, csv=0.0, gpkg=0.0, xlsx=0.0)

    def to_xlsx(sites_frame: pd.DataFrame, parts_frame: pd.DataFrame) -> None:
        t0 = time.time()
        xlsx.append(sheets["results"], sites_frame)
        if len(parts_frame):
            if "parts" not in sheets:
                pcols = list(ZONE_PART_COLUMNS)
                sheets["parts"] = xlsx.add_sheet(
                    "功能区面积明细", pcols, [_label(c)[0] for c in pcols], [10] * len(pcols)
                )
            xlsx.append(sheets["parts"], parts_frame)
        timing["xlsx"] += time.time() - t0

    try:
        for sites, parts in _timed(run.chunks(), timing, "check"):
            summary.add(sites)
            report.add(sites)
            files = _prepare_for_files(sites)
            part_files = _prepare_for_files(parts)
            t = time.time()
            _append_csv(csv_path, files[table_cols], first)
            timing["csv"] += time.time() - t
            t = time.time()
            _append_gpkg(
                gpkg_path,
                "results",
                gpd.GeoDataFrame(files, geometry="geometry", crs=sites.crs),
                first,
            )
            if len(parts):
                _append_gpkg(gpkg_path, "zone_parts", part_files, first_parts)
                first_parts = False
            timing["gpkg"] += time.time() - t
            to_xlsx(files[table_cols], part_files[ZONE_PART_COLUMNS] if len(parts) else parts)
            first = False
            if bar is not None:
                bar.update(len(sites))
    except BaseException:
        xlsx.abort()
        raise
    finally:
        if bar is not None:
            bar.close()
    if first:  # inputs refuse empty files, so this means a bug, not bad input
        raise RuntimeError("no rows were checked")
    t = time.time()
    dictionary = pd.DataFrame(
        {
            "列名 column": table_cols,
            "中文名": [_label(c)[0] for c in table_cols],
            "说明 description": [_label(c)[1] for c in table_cols],
        }
    )
    dsheet = xlsx.add_sheet("字段说明", list(dictionary.columns), widths=[24, 20, 70])
    xlsx.append(dsheet, dictionary)
    xlsx.close()
    timing["xlsx"] += time.time() - t
    run.info.rows = summary.rows
    out = _summary_dict(run, summary)
    t = time.time()
    html_text = render_report(out, report)
    (tmp / "report.html").write_text(html_text, encoding="utf-8")
    timing["report"] = time.time() - t
    return out


def _summary_dict(run: CheckRun, s: _Summary) -> dict:
    from wuzhong_geo.rules import SITE_STATUSES
    from wuzhong_geo.style import MANAGEMENT_ZONES, SUBREGIONS, ZONES

    info = run.info.as_dict()
    return {
        "tool": "wuzhong-geo check",
        "generated_at": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "input": info,
        "options": {
            "buffer_m": run.buffer_m,
            "rules": run.rules_path,
            "chunk_size": run.chunk_size,
        },
        "boundaries": run.boundaries,
        "rows": s.rows,
        "counts": {
            "status": _ordered(s.counters["status"], list(SITE_STATUSES)),
            "flag_level": _ordered(s.counters["flag_level"], ["warning", "note", ""]),
            "flags": _ordered(s.flags, [r.id for r in run.rules.rules]),
            "functional_zone": _ordered(s.counters["functional_zone"], list(ZONES)),
            "subregion": _ordered(s.counters["subregion"], list(SUBREGIONS)),
            "management_zone": _ordered(s.counters["management_zone"], list(MANAGEMENT_ZONES)),
            "town": _ordered(s.counters["town"]),
            "geometry_type": _ordered(
                s.counters["geometry_type"], ["point", "line", "polygon", ""]
            ),
            "rule_category": _ordered(s.counters["rule_category"], list(run.rules.categories)),
        },
        "coordinates": {"swapped": s.swapped, "dms": int(run.stats.get("dms", 0))},
        "rules": {
            "source": run.rules.source,
            "confidence": run.rules.confidence,
            "rules": [
                {"id": r.id, "severity": r.severity, "message": r.message} for r in run.rules.rules
            ],
        },
        "infrastructure": {
            "in_plan_only": run.rules.infrastructure.in_plan_only,
            "kinds": run.context.kinds,
        },
        "outputs": list(OUTPUT_FILES),
    }


def check_to_dir(data, out_dir: str | Path, *, progress: bool | None = None, **options) -> dict:
    """Check ``data`` (see :func:`wuzhong_geo.check.check_sites`) and write every output to ``out_dir``."""
    return write_check(open_check(data, **options), out_dir, progress=progress)


def write_result(result: CheckResult, out_dir: str | Path) -> dict:
    """Write an in-memory :class:`CheckResult` (from ``run_check``) to ``out_dir``."""

    class _Replay:
        def __init__(self, res: CheckResult):
            self._res = res

        def __getattr__(self, name):
            return getattr(self._res.run, name)

        def chunks(self):
            yield self._res.sites, self._res.zone_parts

        def columns(self):
            return self._res.run.columns()

    return write_check(_Replay(result), out_dir, progress=False)
