"""The site check as one pipeline: read → locate → measure → judge → write.

``run(source, out_dir, options)`` is the single entry point of a check that writes files (the
CLI, the main job and the web app call it); ``check_sites`` / ``run_check`` return the results in
memory. Each step is one module:

=========  ===========================  ==================================================
read       :mod:`wuzhong_geo.inputs`     any analyst file → sites with geometry and row_id
locate     :mod:`wuzhong_geo.locate`     town, zones, sub-region, management zone (+ steps)
measure    :mod:`wuzhong_geo.measure`    distances to shore, district, infrastructure (+ steps)
judge      :mod:`wuzhong_geo.judge`      input-town check, category, rule flags, message
write      :mod:`wuzhong_geo.outputs`    CSV / GPKG / XLSX / report / summary.json, atomically
=========  ===========================  ==================================================

locate → measure → judge is :func:`wuzhong_geo.check.check_chunk`, which the Dask engine
(:mod:`wuzhong_geo.check_dask`) runs on its partitions too.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pandas.api.types import union_categoricals

from wuzhong_geo import layers
from wuzhong_geo.check import check_chunk
from wuzhong_geo.checkpool import CheckPool, lead_in, plan_chunk_size
from wuzhong_geo.columns import ZONE_PART_COLUMNS, result_column_names, result_columns
from wuzhong_geo.context import CheckContext, build_context
from wuzhong_geo.errors import InputError
from wuzhong_geo.inputs import InputInfo, SiteReader, open_input
from wuzhong_geo.outputs import ResultWriter, choose_formats
from wuzhong_geo.outputs.folder import atomic_folder
from wuzhong_geo.outputs.summary import Counts, ordered, write_summary
from wuzhong_geo.prefetch import prefetched
from wuzhong_geo.rules import SITE_STATUSES, RuleMatrix, load_rules
from wuzhong_geo.settings import STORAGE_CRS
from wuzhong_geo.style import MANAGEMENT_ZONES, SUBREGIONS, ZONES

#: Default rows per chunk (per-chunk work — one lookup per policy area, town and rule set — is
#: shared by more rows in bigger chunks; 10⁵ rows stay well under the memory bound).
CHUNK_SIZE = 100_000
#: Most check processes a run may ask for (each holds a copy-on-write share of the context).
MAX_WORKERS = 64


@dataclass
class CheckOptions:
    """Options of a check: how to read the input, what to check, what to write.

    Reading: ``crs`` (wgs84|cgcs2000|gcj02|bd09|EPSG:n), ``lon_col``/``lat_col``, ``name_col``,
    ``category_col``, ``town_col``, ``encoding``, ``sheet``, ``layer``. Checking: ``buffer_m``
    (buffer points by metres), ``rules`` (YAML path or RuleMatrix), ``boundaries`` (official town
    boundaries). Running: ``chunk_size`` (None: :func:`wuzhong_geo.checkpool.plan_chunk_size`
    decides from the input's size) and ``workers`` (forked check processes beside this one).
    Writing: ``formats`` (None: the defaults), ``progress``.
    """

    crs: str | None = None
    lon_col: str | None = None
    lat_col: str | None = None
    name_col: str | None = None
    category_col: str | None = None
    town_col: str | None = None
    encoding: str | None = None
    sheet: str | int | None = None
    layer: str | None = None
    buffer_m: float | None = None
    rules: str | Path | RuleMatrix | None = None
    boundaries: str | Path | None = None
    chunk_size: int | None = None
    workers: int = 0
    formats: str | tuple[str, ...] | None = None
    progress: bool | None = None

    def read_options(self) -> dict:
        """The options :func:`wuzhong_geo.inputs.open_input` takes."""
        keys = ("crs", "lon_col", "lat_col", "name_col", "category_col", "town_col", "encoding", "sheet", "layer")
        return {k: getattr(self, k) for k in keys}


@dataclass
class CheckRun:
    """An opened check: the input reader, the rules and the context every chunk needs."""

    reader: SiteReader
    options: CheckOptions
    rules: RuleMatrix
    rules_path: str
    context: CheckContext
    boundaries: str
    started: float = field(default_factory=time.time)

    @property
    def info(self) -> InputInfo:
        """What was read and how."""
        return self.reader.info

    def columns(self) -> list[str]:
        """The result columns, in order (geometry last)."""
        return result_columns(self.info.columns, self.context.kinds)


def _options(options: CheckOptions | None, overrides: dict) -> CheckOptions:
    options = options or CheckOptions()
    unknown = set(overrides) - set(asdict(CheckOptions()))
    if unknown:
        raise TypeError(f"unknown check options: {sorted(unknown)}")
    for key, value in overrides.items():
        setattr(options, key, value)
    return options


def open_check(
    source, options: CheckOptions | None = None, *, reader: SiteReader | None = None, **overrides
) -> CheckRun:
    """Validate options, open the input and build the context; raise InputError before any work.

    ``reader``: an input already opened (the Dask engine opens the first part of a partitioned file).
    """
    opts = _options(options, overrides)
    if opts.buffer_m is not None and not (opts.buffer_m > 0):
        raise InputError(f"--buffer-m 须为正数 / must be positive, not {opts.buffer_m!r}")
    if opts.chunk_size is not None and opts.chunk_size < 1:
        raise InputError("chunk_size must be at least 1")
    if not 0 <= opts.workers <= MAX_WORKERS:
        raise InputError(f"--workers 须为 0–{MAX_WORKERS} / must be 0 to {MAX_WORKERS}, not {opts.workers!r}")
    rules = opts.rules if isinstance(opts.rules, RuleMatrix) else load_rules(opts.rules)
    rules_path = (
        "(in memory)"
        if isinstance(opts.rules, RuleMatrix)
        else str(opts.rules or "data/plan/site_rules.yaml (default)")
    )
    if opts.boundaries is not None:
        layers.use_boundaries(opts.boundaries)
    if reader is None:
        reader = open_input(source, reserved=result_column_names(), **opts.read_options())
    active = layers.active_boundaries()
    return CheckRun(
        reader=reader,
        options=opts,
        rules=rules,
        rules_path=rules_path,
        context=build_context(rules, opts.buffer_m),
        boundaries=str(active) if active else "schematic",
    )


def run(
    source,
    out_dir: str | Path,
    options: CheckOptions | None = None,
    *,
    on_rows: Callable[[int, int], None] | None = None,
    **overrides,
) -> dict:
    """Check every row of ``source`` and write the chosen outputs into ``out_dir``; return the summary.

    ``source``: a path (CSV, XLSX, GeoJSON, GPKG, Shapefile, 界址点 TXT) or a (Geo)DataFrame;
    ``options`` (or keyword overrides): :class:`CheckOptions`. ``on_rows(done, total)`` is called
    before the first chunk and after each (a progress display). Raises InputError for bad input
    before anything is written; ``out_dir`` is replaced atomically.
    """
    started = time.perf_counter()
    check = open_check(source, options, **overrides)  # read: the reader, rules and layers
    formats = choose_formats(check.options.formats, check.info.rows)
    counts = Counts()
    timing = {"check": 0.0}
    chunk_size = plan_chunk_size(check.info.rows, check.options.chunk_size, CHUNK_SIZE)
    # a pool of workers forks before any thread of this run starts (writers, read-ahead)
    with atomic_folder(out_dir) as folder, CheckPool(check.context, check.info, check.options.workers) as pool:
        writer = ResultWriter(folder, check.columns(), formats, name_col=check.info.name_col, rows=check.info.rows)
        bar = _progress_bar(check.info.rows, check.options.progress)
        if on_rows is not None:
            on_rows(0, check.info.rows)
        try:
            # closed on the way out, error or not: the read-ahead thread stops and releases the input
            with closing(prefetched(check.reader.chunks(chunk_size))) as chunks:  # read, one chunk ahead
                for results, zone_parts, seconds in pool.map(lead_in(chunks)):  # locate → measure → judge
                    timing["check"] += seconds
                    counts.add(results)
                    writer.add(results, zone_parts)  # write
                    if bar is not None:
                        bar.update(len(results))
                    if on_rows is not None:
                        on_rows(counts.rows, check.info.rows)
            if counts.rows == 0:  # inputs refuse empty files, so this means a bug, not bad input
                raise RuntimeError("no rows were checked")
            check.info.rows = counts.rows
            summary = summarise(check, counts, outputs=writer.outputs(), chunk_size=chunk_size,
                                processes=pool.workers)
            writer.close(summary)
        except BaseException:
            writer.abort()
            raise
        finally:
            if bar is not None:
                bar.close()
        timing.update(writer.timing)
        summary["timing_s"] = {k: round(v, 2) for k, v in timing.items()}
        summary["timing_s"]["total"] = round(time.perf_counter() - started, 2)
        write_summary(summary, folder / "summary.json")
    return summary


def summarise(
    check: CheckRun, counts: Counts, outputs: list[str], chunk_size: int | None = None, processes: int = 0
) -> dict:
    """summary.json: what was read, how it was checked, and the counts."""
    c = counts.counters
    return {
        "tool": "wuzhong-geo check",
        "generated_at": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "input": check.info.as_dict(),
        "options": {
            "buffer_m": check.options.buffer_m,
            "rules": check.rules_path,
            "chunk_size": chunk_size or check.options.chunk_size or CHUNK_SIZE,
            "check_processes": processes,  # forked workers beside the main process (0: none)
        },
        "boundaries": check.boundaries,
        "rows": counts.rows,
        "counts": {
            "status": ordered(c["status"], list(SITE_STATUSES)),
            "flag_level": ordered(c["flag_level"], ["warning", "note", ""]),
            "flags": ordered(counts.flags, [r.id for r in check.rules.rules]),
            "functional_zone": ordered(c["functional_zone"], list(ZONES)),
            "subregion": ordered(c["subregion"], list(SUBREGIONS)),
            "management_zone": ordered(c["management_zone"], list(MANAGEMENT_ZONES)),
            "town": ordered(c["town"]),
            "geometry_type": ordered(c["geometry_type"], ["point", "line", "polygon", ""]),
            "rule_category": ordered(c["rule_category"], list(check.rules.categories)),
        },
        "coordinates": {"swapped": counts.swapped, "dms": check.info.dms_rows},
        "rules": {
            "source": check.rules.source,
            "confidence": check.rules.confidence,
            "rules": [
                {"id": r.id, "severity": r.severity, "message": r.message} for r in check.rules.rules
            ],
        },
        "infrastructure": {
            "in_plan_only": check.rules.infrastructure.in_plan_only,
            "kinds": check.context.kinds,
        },
        "outputs": outputs,
    }


def _progress_bar(total: int, enabled: bool | None):
    enabled = sys.stderr.isatty() if enabled is None else enabled
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="行", desc="核查 check", file=sys.stderr, dynamic_ncols=True)


@dataclass
class CheckResult:
    """An in-memory check: sites, the per-zone table of polygons/lines, and how it was run."""

    sites: gpd.GeoDataFrame
    zone_parts: gpd.GeoDataFrame
    run: CheckRun


def run_check(source, options: CheckOptions | None = None, **overrides) -> CheckResult:
    """Like :func:`check_sites`, also returning the zone-part table and the run."""
    check = open_check(source, options, **overrides)
    sites, parts = [], []
    for chunk in check.reader.chunks(check.options.chunk_size or CHUNK_SIZE):
        s, p = check_chunk(chunk, check.context, check.info)
        sites.append(s)
        parts.append(p)
    return CheckResult(
        sites=_concat(sites, check.columns()),
        zone_parts=_concat(parts, [*ZONE_PART_COLUMNS, "geometry"]),
        run=check,
    )


def check_sites(source, options: CheckOptions | None = None, **overrides) -> gpd.GeoDataFrame:
    """Check every site of ``source`` (path or frame) against the plan; one row per input row."""
    return run_check(source, options, **overrides).sites


def _concat(frames: list[gpd.GeoDataFrame], columns: list[str]) -> gpd.GeoDataFrame:
    frames = [f for f in frames if len(f)] or frames[:1]
    if not frames:
        return gpd.GeoDataFrame(
            {c: [] for c in columns if c != "geometry"}, geometry=[], crs=STORAGE_CRS
        )
    out = pd.concat(_same_categories(frames), ignore_index=True) if len(frames) > 1 else frames[0]
    return gpd.GeoDataFrame(out, geometry="geometry", crs=STORAGE_CRS)


def _same_categories(frames: list[gpd.GeoDataFrame]) -> list[gpd.GeoDataFrame]:
    """Give a text column that is categorical in every chunk one set of categories (concat keeps it)."""
    for col in frames[0].columns:
        if all(isinstance(f[col].dtype, pd.CategoricalDtype) for f in frames):
            categories = union_categoricals([f[col].array for f in frames], sort_categories=True).categories
            for f in frames:
                f[col] = f[col].cat.set_categories(categories)
    return frames
