"""Coverage of the plan's 10-minute circles (10分钟文化圈、健身圈): service areas and each town's share.

Two methods, both in EPSG:4549:

- ``buffer``: a circle of radius speed × time around each facility (straight-line distance;
  walk 4.8 km/h, drive :data:`DRIVE_BUFFER_SPEED_KMH` unless ``speed_kmh`` says otherwise).
  Circles are 64-sided polygons (shapely ``quad_segs=16``). Works on the bundled data alone.
- ``network``: the service area of :func:`wuzhong_geo.network.service_area` on the cached OSM
  graph (reachable streets buffered by ``buffer_m``).

A town's share is the covered part of its land (town minus Taihu waters) over its land area.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from wuzhong_geo import gpkg as gpkg_io
from wuzhong_geo import layers, limits, network, style
from wuzhong_geo.csvsafe import write_csv
from wuzhong_geo.errors import InputError
from wuzhong_geo.outdir import publish, staging
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS
from wuzhong_geo.vector import read_point_table, read_vector

log = logging.getLogger(__name__)

METHODS = ("buffer", "network")
#: Straight-line driving speed (km/h) of the buffer method (an urban average, detours included).
DRIVE_BUFFER_SPEED_KMH = 30.0
#: Segments per quarter circle of buffer circles (64-sided polygons).
QUAD_SEGS = 16


@dataclass
class CoverageResult:
    """Service area, per-town coverage and the facilities used."""

    method: str
    mode: str
    minutes: float
    speed_kmh: float | None
    area: shapely.Geometry  # EPSG:4549
    towns: gpd.GeoDataFrame  # EPSG:4326: code, name, name_en, facilities, land_km2, covered_km2, share
    facilities: gpd.GeoDataFrame  # EPSG:4326
    radius_m: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def total_share(self) -> float:
        """Return the covered share of the district's land (all towns together)."""
        land = self.towns["land_km2"].sum()
        return float(self.towns["covered_km2"].sum() / land) if land else 0.0

    def table(self) -> pd.DataFrame:
        """Return the per-town table with a district total row (code 320506) at the bottom."""
        frame = pd.DataFrame(self.towns.drop(columns="geometry"))
        total = {"code": "320506", "name": "吴中区（合计）", "name_en": "Wuzhong (total)",
                 "facilities": int(frame["facilities"].sum()), "land_km2": frame["land_km2"].sum(),
                 "covered_km2": frame["covered_km2"].sum(), "share": self.total_share}
        frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
        frame["method"], frame["mode"], frame["minutes"] = self.method, self.mode, self.minutes
        return frame

    def area_frame(self) -> gpd.GeoDataFrame:
        """Return the service area as a one-row GeoDataFrame (EPSG:4326)."""
        return gpd.GeoDataFrame(
            {"method": [self.method], "mode": [self.mode], "minutes": [self.minutes],
             "speed_kmh": [self.speed_kmh], "area_km2": [round(self.area.area / 1e6, 6)]},
            geometry=[self.area], crs=ANALYSIS_CRS).to_crs(STORAGE_CRS)


def load_facilities(spec: str | Path | gpd.GeoDataFrame, cache_dir: str | Path | None = None,
                    encoding: str | None = None) -> gpd.GeoDataFrame:
    """Return facility points (EPSG:4326) from a spec.

    ``places`` (every place of the plan), ``places:museum,sports`` (those categories),
    ``osm:culture`` (a feature category of the OSM cache in ``cache_dir``), a vector file, or a
    CSV with ``lon``/``lat`` columns (WGS84). Lines and polygons become interior points.
    """
    if isinstance(spec, gpd.GeoDataFrame):
        frame = spec.copy()
    else:
        text = str(spec)
        if text == "places" or text.startswith("places:"):
            frame = layers.places()
            if ":" in text:
                wanted = [c.strip() for c in text.split(":", 1)[1].split(",") if c.strip()]
                known = sorted(frame["category"].unique())
                bad = [c for c in wanted if c not in known]
                if bad or not wanted:
                    raise InputError(f"unknown place category {', '.join(bad) or '(none)'}; "
                                     f"choose from {', '.join(known)}")
                frame = frame[frame["category"].isin(wanted)]
        elif text.startswith("osm:"):
            if cache_dir is None:
                raise InputError("osm:CATEGORY needs the OSM cache folder (--cache)")
            frame = network.load_features(cache_dir, text[4:])
        else:
            frame = _read_points_file(Path(text), encoding)
    if frame.crs is None:
        raise InputError(f"facilities {spec if not isinstance(spec, gpd.GeoDataFrame) else ''} have no CRS")
    frame = frame[~frame.geometry.is_empty & frame.geometry.notna()]
    if frame.empty:
        raise InputError(f"no facilities in {spec if not isinstance(spec, gpd.GeoDataFrame) else 'the frame'}")
    points = frame.geometry.to_crs(ANALYSIS_CRS).representative_point().to_crs(STORAGE_CRS)
    return frame.set_geometry(points).to_crs(STORAGE_CRS).reset_index(drop=True)


def _read_points_file(path: Path, encoding: str | None = None) -> gpd.GeoDataFrame:
    if not path.exists():
        raise InputError(f"facilities {path} not found (use places, places:CATEGORY, osm:CATEGORY or a file)")
    if path.suffix.lower() in (".csv", ".txt", ".tsv"):
        return read_point_table(path, encoding)
    return read_vector(path, what="设施 facilities", encoding=encoding)


def town_land() -> gpd.GeoDataFrame:
    """Return each town's land (town minus Taihu waters) in EPSG:4549 with ``land_km2``."""
    towns = layers.towns().to_crs(ANALYSIS_CRS)
    water = layers.taihu().to_crs(ANALYSIS_CRS).geometry.union_all()
    land = towns[["code", "name", "name_en", "geometry"]].copy()
    land["geometry"] = shapely.make_valid(land.geometry.difference(water).values)
    land["land_km2"] = land.area / 1e6
    return land


def buffer_area(facilities: gpd.GeoDataFrame, radius_m: float) -> shapely.Geometry:
    """Return the union of circles of ``radius_m`` around the facilities (EPSG:4549)."""
    points = facilities.geometry.to_crs(ANALYSIS_CRS)
    return shapely.union_all(shapely.buffer(points.values, radius_m, quad_segs=QUAD_SEGS))


def coverage(
    facilities: str | Path | gpd.GeoDataFrame, *, minutes: float = 10.0, mode: str = "walk",
    method: str = "buffer", speed_kmh: float | None = None, cache_dir: str | Path | None = None,
    graph=None, buffer_m: float = 50.0, max_snap_m: float = 500.0, encoding: str | None = None,
) -> CoverageResult:
    """Return the service area of ``facilities`` and the share of each town's land it covers."""
    if method not in METHODS:
        raise InputError(f"--method must be one of {', '.join(METHODS)}, not {method!r}")
    if mode not in network.MODES:
        raise InputError(f"--mode must be one of {', '.join(network.MODES)}, not {mode!r}")
    for option, number in (("--minutes", minutes), ("--speed", speed_kmh), ("--buffer-m", buffer_m)):
        if number is not None and not (math.isfinite(number) and number > 0):
            raise InputError(f"{option} {number!r}: 须为正的有限数值 / must be a positive finite number")
    limits.check("max_buffer_m", buffer_m, "--buffer-m")
    points = load_facilities(facilities, cache_dir, encoding)
    notes: list[str] = []
    radius = None
    if method == "buffer":
        speed = speed_kmh or (network.WALK_SPEED_KMH if mode == "walk" else DRIVE_BUFFER_SPEED_KMH)
        radius = speed * 1000.0 * minutes / 60.0
        limits.check("max_buffer_m", radius, f"--minutes {minutes:g} × {speed:g} km/h")
        area = buffer_area(points, radius)
        notes.append(f"straight-line circles of {radius:g} m ({speed:g} km/h × {minutes:g} min)")
    else:
        if graph is None:
            if cache_dir is None:
                raise InputError("--method network needs the OSM cache (--cache DIR); build it with "
                                 "`wuzhong-geo osm import FILE.osm --out DIR` or `osm fetch`")
            graph = network.load_graph(cache_dir, mode)
        result = network.service_area(graph, points, minutes, mode, speed_kmh=speed_kmh,
                                      buffer_m=buffer_m, max_snap_m=max_snap_m)
        area, speed = result.polygon, speed_kmh
        notes += result.notes
        notes.append(f"network service area, streets buffered by {buffer_m:g} m")
    towns = town_land()
    covered = shapely.intersection(towns.geometry.values, area)
    towns["covered_km2"] = shapely.area(covered) / 1e6
    towns["share"] = (towns["covered_km2"] / towns["land_km2"]).where(towns["land_km2"] > 0, 0.0)
    inside = gpd.sjoin(points.to_crs(ANALYSIS_CRS)[["geometry"]], towns[["code", "geometry"]],
                       how="inner", predicate="within")
    towns["facilities"] = towns["code"].map(inside["code"].value_counts()).fillna(0).astype(int)
    towns = towns[["code", "name", "name_en", "facilities", "land_km2", "covered_km2", "share", "geometry"]]
    return CoverageResult(method=method, mode=mode, minutes=minutes, speed_kmh=speed,
                          area=area, towns=towns.to_crs(STORAGE_CRS), facilities=points,
                          radius_m=radius, notes=notes)


def coverage_map(result: CoverageResult, title: str | None = None):
    """Return a matplotlib Figure: towns by covered share, the service area and the facilities."""
    title = title or (f"{result.minutes:g}分钟{'步行' if result.mode == 'walk' else '车行'}覆盖 "
                      f"{result.minutes:g}-minute {result.mode} coverage ({result.method})")
    frame = result.towns.copy()
    frame["share_pct"] = (frame["share"] * 100).round(1)
    notes = "；".join(result.notes)
    if result.method == "network":
        notes += "。路网 Street network: " + network.ATTRIBUTION
    from wuzhong_geo.maps import thematic_map  # lazy: the layout stack is only needed for maps

    fig = thematic_map(frame, "share_pct", scheme="user_defined", bins=SHARE_BINS, title=title,
                       legend_title="陆域覆盖比例（%） Share of land covered", notes=notes,
                       label_column="name")
    _overlay(_map_axes(fig), result)
    return fig


#: Classes (upper bounds, %) of the covered share on coverage maps, fixed so maps compare.
SHARE_BINS = [20, 40, 60, 80, 100]


def _axes_crs(ax) -> str | None:
    # the map may be drawn in lon/lat or in EPSG:4549: tell by the magnitude of the limits
    x0, x1 = ax.get_xlim()
    y0 = ax.get_ylim()[0]
    if 100 <= x0 <= 130 and 100 <= x1 <= 130 and 20 <= y0 <= 40:
        return STORAGE_CRS
    if 3e5 <= x0 <= 7e5 and 3e6 <= y0 <= 4e6:
        return ANALYSIS_CRS
    return None


def _map_axes(fig):
    """Return the figure's main map: the largest axes whose limits are district coordinates."""
    maps = [ax for ax in fig.axes if _axes_crs(ax)]
    if not maps:
        raise ValueError("no map axes in the figure")
    return max(maps, key=lambda ax: ax.get_position().width * ax.get_position().height)


def _overlay(ax, result: CoverageResult) -> None:
    crs = _axes_crs(ax) or ANALYSIS_CRS
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    area = result.area_frame().to_crs(crs)
    area.plot(ax=ax, facecolor=style.SERVICE_AREA, edgecolor=style.SERVICE_AREA_EDGE, alpha=0.35,
              linewidth=0.6, zorder=5)
    result.facilities.to_crs(crs).plot(ax=ax, color=style.FACILITY, markersize=6, zorder=6)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)


def write_coverage(result: CoverageResult, out_dir: str | Path, *, map_png: bool = True) -> list[Path]:
    """Write ``coverage_towns.csv``, ``coverage.gpkg`` (service_area, towns, facilities) and a PNG map."""
    with staging(out_dir) as tmp:
        written = _write_coverage_files(result, tmp, map_png)
        return publish(tmp, out_dir, [p.name for p in written])


def _write_coverage_files(result: CoverageResult, out_dir: Path, map_png: bool) -> list[Path]:
    table = write_csv(result.table(), out_dir / "coverage_towns.csv")
    gpkg = out_dir / "coverage.gpkg"
    gpkg_io.write(result.area_frame(), gpkg, "service_area")
    gpkg_io.write(result.towns, gpkg, "towns")
    facilities = result.facilities[[c for c in result.facilities.columns
                                    if c == "geometry" or result.facilities[c].dtype != object
                                    or result.facilities[c].map(lambda v: v is None or isinstance(v, str)).all()]]
    gpkg_io.write(facilities, gpkg, "facilities")
    written = [table, gpkg]
    if map_png:
        import matplotlib.pyplot as plt

        fig = coverage_map(result)
        png = out_dir / "coverage_map.png"
        fig.savefig(png, dpi=150, bbox_inches="tight")
        plt.close(fig)
        written.append(png)
    return written
