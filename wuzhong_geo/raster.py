"""Rasters: one shared planning grid, categorical GeoTIFFs, zonal statistics and hillshade.

Every raster this module writes lies on one grid in ``settings.ANALYSIS_CRS`` (EPSG:4549): the
district's bounds snapped outward to multiples of the resolution, so two grids of the same
resolution always share cell edges, whatever boundaries are in use.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.transform import from_origin
from rasterio.warp import reproject

from wuzhong_geo import coords, layers, style
from wuzhong_geo.csvsafe import write_csv
from wuzhong_geo.errors import InputError
from wuzhong_geo.outdir import publish, staging
from wuzhong_geo.settings import ANALYSIS_CRS
from wuzhong_geo.vector import read_vector, short_reason

log = logging.getLogger(__name__)

Bounds = tuple[float, float, float, float]

#: Layers ``rasterize`` can burn, each a categorical raster (value 1..n, 0 = nodata).
RASTER_LAYERS = ("towns", "functional_zones", "subregions", "management_zones")
#: Default layers of ``wuzhong-geo rasterize``.
DEFAULT_RASTER_LAYERS = ("towns", "functional_zones", "subregions")
#: Statistics ``zonal_stats`` accepts (exactextract operations that give one number per unit).
ZONAL_STATS = (
    "count", "sum", "mean", "min", "max", "median", "majority", "minority", "variety",
    "stdev", "variance", "coefficient_of_variation",
)
DEFAULT_STATS = ("mean", "sum", "min", "max", "count")
NODATA = 0

# --------------------------------------------------------------------------------------------
# Hillshade (used lazily by the static maps: keep this import-light)
# --------------------------------------------------------------------------------------------

def hillshade(
    dem_path, bounds: Bounds, resolution_m: float = 30.0, *,
    azimuth: float = 315.0, altitude: float = 45.0, z_factor: float = 1.0,
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Return hillshade (0..1, NaN without DEM data) and its (xmin, xmax, ymin, ymax) in EPSG:4549.

    ``bounds`` is (xmin, ymin, xmax, ymax) in EPSG:4549. The DEM (any CRS, heights in metres)
    is resampled bilinearly onto a north-up grid of ``resolution_m`` covering ``bounds``; row 0
    is the northern edge, so draw it with ``imshow(shade, extent=extent, origin="upper")``.
    A flat cell is ``sin(altitude)`` (0.71 at 45°); slopes facing the light approach 1.
    """
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    if not (xmax > xmin and ymax > ymin):
        raise InputError(f"hillshade bounds {bounds} are empty: expected (xmin, ymin, xmax, ymax)")
    if resolution_m <= 0:
        raise InputError(f"hillshade resolution must be positive, not {resolution_m}")
    width = max(1, int(np.ceil((xmax - xmin) / resolution_m)))
    height = max(1, int(np.ceil((ymax - ymin) / resolution_m)))
    transform = from_origin(xmin, ymax, resolution_m, resolution_m)
    elevation = np.full((height, width), np.nan, dtype="float32")
    with _open_raster(dem_path, "DEM") as src:
        if src.crs is None:
            raise InputError(f"DEM {dem_path} has no CRS; assign one (e.g. gdal_edit.py -a_srs EPSG:4326)")
        reproject(
            source=rasterio.band(src, 1), destination=elevation,
            src_nodata=src.nodata, dst_transform=transform, dst_crs=CRS.from_user_input(ANALYSIS_CRS),
            dst_nodata=np.nan, resampling=Resampling.bilinear,
        )
    if not np.isfinite(elevation).any():
        raise InputError(f"DEM {dem_path} does not cover the map area {bounds} (EPSG:4549)")
    shade = shade_relief(elevation, resolution_m, azimuth=azimuth, altitude=altitude, z_factor=z_factor)
    extent = (xmin, xmin + width * resolution_m, ymax - height * resolution_m, ymax)
    return shade, extent


def shade_relief(
    elevation: np.ndarray, resolution_m: float, *,
    azimuth: float = 315.0, altitude: float = 45.0, z_factor: float = 1.0,
) -> np.ndarray:
    """Return the hillshade (0..1) of a north-up elevation array with square cells."""
    z = np.asarray(elevation, dtype="float32") * np.float32(z_factor)
    if min(z.shape) < 2:
        flat = np.full(z.shape, np.sin(np.radians(altitude)))
        return np.where(np.isfinite(z), flat, np.nan).astype("float32")
    d_row, d_col = np.gradient(z, resolution_m)
    dz_dx, dz_dy = d_col, -d_row  # rows run southwards, y runs northwards
    az, alt = np.radians(azimuth), np.radians(altitude)
    # Lambert shading: unit surface normal (-dz/dx, -dz/dy, 1) dotted with the unit vector towards
    # the light, whose azimuth is clockwise from north.
    light = (np.sin(az) * np.cos(alt), np.cos(az) * np.cos(alt), np.sin(alt))
    shade = (-dz_dx * light[0] - dz_dy * light[1] + light[2]) / np.sqrt(1.0 + dz_dx**2 + dz_dy**2)
    return np.clip(shade, 0.0, 1.0).astype("float32")


def _open_raster(path, what: str = "raster"):
    try:
        return rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{Path(path).name}: 无法作为栅格打开（{short_reason(exc)}），请用 GeoTIFF / cannot open the "
                         f"{what}; use a GeoTIFF") from None


# --------------------------------------------------------------------------------------------
# The shared planning grid
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Grid:
    """A north-up grid in EPSG:4549: origin (xmin, ymax), square cells of ``resolution`` metres."""

    xmin: float
    ymax: float
    width: int
    height: int
    resolution: float
    crs: str = ANALYSIS_CRS

    @property
    def transform(self) -> Affine:
        """Return the affine transform (pixel -> EPSG:4549)."""
        return from_origin(self.xmin, self.ymax, self.resolution, self.resolution)

    @property
    def bounds(self) -> Bounds:
        """Return (xmin, ymin, xmax, ymax)."""
        return (self.xmin, self.ymax - self.height * self.resolution,
                self.xmin + self.width * self.resolution, self.ymax)

    @property
    def shape(self) -> tuple[int, int]:
        """Return (rows, columns)."""
        return (self.height, self.width)


def planning_grid(resolution_m: float = 30.0, bounds: Bounds | None = None) -> Grid:
    """Return the shared grid: ``bounds`` (default: the district's, EPSG:4549) snapped outward."""
    if not (math.isfinite(resolution_m) and resolution_m > 0):
        raise InputError(f"--res {resolution_m!r}: 须为正的有限米数 / must be a positive finite number of metres")
    if bounds is None:
        bounds = tuple(layers.district().to_crs(ANALYSIS_CRS).total_bounds)
    xmin, ymin, xmax, ymax = bounds
    # Snap to whole multiples of the resolution so grids of one resolution nest, whatever the bounds.
    x0 = math.floor(xmin / resolution_m) * resolution_m
    y0 = math.floor(ymin / resolution_m) * resolution_m
    x1 = math.ceil(xmax / resolution_m) * resolution_m
    y1 = math.ceil(ymax / resolution_m) * resolution_m
    width, height = round((x1 - x0) / resolution_m), round((y1 - y0) / resolution_m)
    if width * height > 200_000_000:
        raise InputError(f"a {resolution_m} m grid of the district has {width} x {height} cells; use a coarser --res")
    return Grid(xmin=x0, ymax=y1, width=width, height=height, resolution=float(resolution_m))


# --------------------------------------------------------------------------------------------
# Categorical rasters
# --------------------------------------------------------------------------------------------

def categories(layer: str) -> gpd.GeoDataFrame:
    """Return a layer's categories: value (1..n), key, name, name_en, colour and geometry."""
    if layer not in RASTER_LAYERS:
        raise InputError(f"cannot rasterize layer {layer!r}; choose from {', '.join(RASTER_LAYERS)}")
    frame = layers.get(layer)
    if layer == "towns":
        frame = frame.sort_values("code").reset_index(drop=True)
        key, name, name_en = frame["code"], frame["name"], frame["name_en"]
        colour = [style.TOWN_COLOURS[i % len(style.TOWN_COLOURS)] for i in range(len(frame))]
    else:
        palette, column = {
            "functional_zones": (style.ZONES, "zone"),
            "subregions": (style.SUBREGIONS, "subregion"),
            "management_zones": (style.MANAGEMENT_ZONES, "name"),
        }[layer]
        order = {k: i for i, k in enumerate(palette)}
        frame = frame.sort_values(column, key=lambda s: s.map(order)).reset_index(drop=True)
        key = frame[column]
        name = frame[column]
        name_en = frame[column].map(lambda k: palette[k][1])
        colour = frame[column].map(lambda k: palette[k][2])
    return gpd.GeoDataFrame(
        {"value": np.arange(1, len(frame) + 1, dtype="int64"), "key": list(key), "name": list(name),
         "name_en": list(name_en), "colour": list(colour)},
        geometry=frame.geometry.values, crs=frame.crs,
    )


def rasterize_layer(layer: str, grid: Grid) -> tuple[np.ndarray, pd.DataFrame]:
    """Burn a layer onto ``grid`` (cell centres; 0 = outside every unit); return array and categories."""
    from rasterio.features import rasterize as burn

    cats = categories(layer)
    shapes = zip(cats.to_crs(grid.crs).geometry, cats["value"])
    array = burn(shapes, out_shape=grid.shape, transform=grid.transform, fill=NODATA,
                 dtype="uint8", all_touched=False)
    counts = np.bincount(array.ravel(), minlength=len(cats) + 1)
    table = pd.DataFrame(cats.drop(columns="geometry"))
    table["cells"] = counts[table["value"].to_numpy()]
    table["area_km2"] = (table["cells"] * grid.resolution**2 / 1e6).round(4)
    return array, table


def rasterize(
    out_dir: str | Path, resolution_m: float = 30.0, names: tuple[str, ...] | list[str] = DEFAULT_RASTER_LAYERS,
) -> list[Path]:
    """Write one categorical GeoTIFF per layer, all on the same grid; return the .tif paths."""
    names = list(names)
    unknown = [n for n in names if n not in RASTER_LAYERS]
    if unknown or not names:
        raise InputError(f"unknown layer(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(RASTER_LAYERS)}")
    grid = planning_grid(resolution_m)
    out_dir = Path(out_dir)
    with staging(out_dir) as tmp:
        tifs = [write_categorical(tmp / f"{name}_{_res_label(resolution_m)}.tif", *rasterize_layer(name, grid),
                                  grid=grid, layer=name)
                for name in names]
        publish(tmp, out_dir)
    return [out_dir / tif.name for tif in tifs]


def _res_label(resolution_m: float) -> str:
    return f"{resolution_m:g}m".replace(".", "p")


def write_categorical(path: str | Path, array: np.ndarray, table: pd.DataFrame, *, grid: Grid, layer: str) -> Path:
    """Write a uint8 categorical GeoTIFF with colour table, plus .aux.xml RAT, .qml style and .csv table."""
    path = Path(path)
    profile = {
        "driver": "GTiff", "width": grid.width, "height": grid.height, "count": 1, "dtype": "uint8",
        "crs": CRS.from_user_input(grid.crs), "transform": grid.transform, "nodata": NODATA,
        "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate", "zlevel": 9,
        "photometric": "palette", "interleave": "band",
    }
    for sidecar in (path.with_name(path.name + ".aux.xml"),):
        sidecar.unlink(missing_ok=True)  # a stale PAM file would override the new table
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)
        colormap = {NODATA: (0, 0, 0, 0)}
        colormap.update({int(v): (*style.hex_rgb(c), 255) for v, c in zip(table["value"], table["colour"])})
        dst.write_colormap(1, colormap)
        dst.set_band_description(1, layer)
        dst.update_tags(
            LAYER=layer, RESOLUTION_M=f"{grid.resolution:g}", NODATA_MEANING="outside every unit",
            BOUNDARY_SOURCE="official" if layers.active_boundaries() else "schematic",
            NOTE=style.SCHEMATIC_NOTE_EN, SOFTWARE="wuzhong_geo",
        )
        dst.update_tags(1, CATEGORIES=";".join(f"{v}={n}" for v, n in zip(table["value"], table["name"])))
    path.with_name(path.name + ".aux.xml").write_text(_pam_xml(table), encoding="utf-8")
    path.with_suffix(".qml").write_text(_qml(table), encoding="utf-8")
    write_csv(table, path.with_suffix(".csv"))
    return path


def read_categories(tif_path: str | Path) -> pd.DataFrame:
    """Return the category table written next to a categorical GeoTIFF."""
    return pd.read_csv(Path(tif_path).with_suffix(".csv"), encoding="utf-8-sig", dtype={"key": str})


def _pam_xml(table: pd.DataFrame) -> str:
    # GDAL's PAM sidecar: CategoryNames is indexed by pixel value (0 = nodata, left blank), and a
    # thematic Raster Attribute Table with GDAL's field types (0 int, 2 string) and usages
    # (5 MinMax, 2 Name, 1 PixelCount, 6-9 RGBA, 0 generic).
    names = [""] * (int(table["value"].max()) + 1)
    for v, n in zip(table["value"], table["name"]):
        names[int(v)] = n
    fields = [("Value", 0, 5), ("Name", 2, 2), ("Name_en", 2, 0), ("Key", 2, 0), ("Count", 0, 1),
              ("Red", 0, 6), ("Green", 0, 7), ("Blue", 0, 8), ("Alpha", 0, 9)]
    lines = ["<PAMDataset>", '  <PAMRasterBand band="1">', "    <CategoryNames>"]
    lines += [f"      <Category>{escape(n)}</Category>" for n in names]
    lines += ["    </CategoryNames>", '    <GDALRasterAttributeTable tableType="thematic">']
    for i, (fname, ftype, usage) in enumerate(fields):
        lines.append(f'      <FieldDefn index="{i}"><Name>{fname}</Name><Type>{ftype}</Type>'
                     f"<Usage>{usage}</Usage></FieldDefn>")
    for i, row in enumerate(table.itertuples(index=False)):
        cells = [row.value, escape(row.name), escape(row.name_en), escape(str(row.key)), row.cells,
                 *style.hex_rgb(row.colour), 255]
        lines.append(f'      <Row index="{i}">' + "".join(f"<F>{c}</F>" for c in cells) + "</Row>")
    lines += ["    </GDALRasterAttributeTable>", "  </PAMRasterBand>", "</PAMDataset>", ""]
    return "\n".join(lines)


def _qml(table: pd.DataFrame) -> str:
    # QGIS loads <name>.qml next to <name>.tif as the layer's default style (paletted renderer).
    entries = "\n".join(
        f"        <paletteEntry value=\"{int(r.value)}\" color=\"{r.colour}\" alpha=\"255\" "
        f"label={quoteattr(f'{r.name} {r.name_en}')}/>"
        for r in table.itertuples(index=False)
    )
    return f"""<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.28.0" styleCategories="AllStyleCategories">
  <pipe>
    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1" nodataColor="">
      <rasterTransparency/>
      <colorPalette>
{entries}
      </colorPalette>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0"/>
    <rasterresampler maxOversampling="2"/>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
"""


# --------------------------------------------------------------------------------------------
# Zonal statistics
# --------------------------------------------------------------------------------------------

#: Columns that identify a unit of each layer in a zonal table (the rest of the layer joins on them).
KEY_COLUMNS = {
    "towns": ["code", "name", "name_en"],
    "functional_zones": ["zone", "zone_en"],
    "subregions": ["subregion", "subregion_en"],
    "management_zones": ["name", "name_en"],
}


def zonal_stats(
    raster_path: str | Path, by: str | Path | gpd.GeoDataFrame = "towns",
    stats: tuple[str, ...] | list[str] | str = DEFAULT_STATS, *, encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Return ``by``'s units with statistics of every band, weighted by each cell's covered fraction.

    ``by`` is a layer name (towns, functional_zones, subregions, management_zones), a vector
    file or a GeoDataFrame. The units are projected to the raster's CRS, so any CRS works.
    Single-band rasters give columns named after the statistic (``mean``); multi-band rasters
    give ``band1_mean``, ``band2_mean``, … ``count`` and ``sum`` count partly covered cells by
    their covered fraction; cells equal to the band's nodata (or NaN) are skipped.
    """
    from exactextract import exact_extract

    stats = _parse_stats(stats)
    units = _units(by, encoding)  # encoding: of a Shapefile's DBF without .cpg
    with _open_raster(raster_path) as src:
        if src.crs is None:
            raise InputError(f"raster {raster_path} has no CRS; assign one before computing statistics")
        coords.refuse_declared_crs(src.crs.to_wkt(), Path(raster_path).name)
        vec = units[[units.geometry.name]].to_crs(src.crs)
        _check_overlap(vec, src, raster_path)
        # Snap outlines to 1/100000 of a cell: this drops zero-width spikes, along which
        # exactextract miscounts whole interior cells, and moves areas by far less than a cell.
        grid_size = min(abs(src.res[0]), abs(src.res[1])) * 1e-5
        vec = vec.set_geometry(shapely.set_precision(vec.geometry.values, grid_size))
        vec["_unit"] = np.arange(len(vec))
        with warnings.catch_warnings():
            # the CRS is the raster's; exactextract warns only about WKT spelling differences
            warnings.filterwarnings("ignore", message="Spatial reference system")
            table = exact_extract(src, vec, list(stats), include_cols=["_unit"], output="pandas")
        count = src.count
    table = table.sort_values("_unit").set_index("_unit")
    out = units.copy()
    for column in table.columns:
        match = re.fullmatch(r"band_(\d+)_(.+)", column)
        name = f"band{match.group(1)}_{match.group(2)}" if match and count > 1 else (
            match.group(2) if match else column)
        out[name] = table[column].to_numpy()
    return out


def _check_overlap(units: gpd.GeoDataFrame, src, raster_path) -> None:
    """Refuse a raster that misses every unit; warn when it covers them only in part."""
    extent = shapely.box(*src.bounds)
    area = units.geometry.union_all()
    name = Path(raster_path).name
    if not extent.intersects(area):
        raise InputError(f"{name}: 栅格范围与统计单元完全不相交（坐标系 {src.crs}），统计结果将全为空；请检查栅格的范围和坐标系 / "
                         "the raster does not overlap any unit; check its extent and CRS")
    if not extent.covers(area):
        share = extent.intersection(area).area / area.area if area.area else 0.0
        log.warning("%s: 栅格只覆盖统计单元的 %.0f%%，其余部分不计入统计 / the raster covers only %.0f%% of the units; "
                    "the rest is not counted", name, share * 100, share * 100)


def zonal_table(result: gpd.GeoDataFrame, by: str | Path | gpd.GeoDataFrame = "towns") -> pd.DataFrame:
    """Return a zonal result without geometry, keeping only the unit's key columns for known layers."""
    frame = pd.DataFrame(result.drop(columns=result.geometry.name))
    if isinstance(by, str) and by in KEY_COLUMNS:
        base = set(layers.get(by).columns)
        keep = KEY_COLUMNS[by] + [c for c in frame.columns if c not in base]
        frame = frame[keep]
    return frame


def _parse_stats(stats) -> tuple[str, ...]:
    if isinstance(stats, str):
        stats = [s.strip() for s in stats.split(",")]
    stats = tuple(s for s in stats if s)
    bad = [s for s in stats if s not in ZONAL_STATS and not re.fullmatch(r"quantile\(q=0?\.\d+\)", s)]
    if bad or not stats:
        raise InputError(f"unknown statistic(s) {', '.join(bad) or '(none)'}; choose from "
                         f"{', '.join(ZONAL_STATS)} or quantile(q=0.9)")
    return stats


def _units(by, encoding: str | None = None) -> gpd.GeoDataFrame:
    if isinstance(by, gpd.GeoDataFrame):
        units = by.copy()
    elif isinstance(by, str) and by in KEY_COLUMNS:
        units = layers.get(by)
    else:
        path = Path(by)
        if not path.exists():
            raise InputError(f"--by {by!r} is neither a layer ({', '.join(KEY_COLUMNS)}) nor an existing file")
        units = read_vector(path, what="统计单元 zones", encoding=encoding)
    if units.crs is None:
        raise InputError(f"--by {by!r}: 统计单元没有坐标系，请另存为带坐标系的文件（如 EPSG:4326）/ the zones have no "
                         "CRS; save them with one (e.g. EPSG:4326)")
    empty = units.geometry.isna() | units.geometry.is_empty
    polygonal = units.geom_type.isin(["Polygon", "MultiPolygon"])
    if empty.any() or not polygonal.all():
        rows = ", ".join(str(i + 1) for i in units.index[empty | ~polygonal][:5])
        raise InputError(f"--by {by!r}: 第 {rows} 个要素为空或不是面，请删除或修复 / feature(s) {rows} are empty or "
                         "not polygons; delete or repair them")
    return units.reset_index(drop=True)


def zonal_map(result: gpd.GeoDataFrame, column: str, *, title: str | None = None, k: int = 5):
    """Return a choropleth Figure of one zonal column, with the report layout of ``maps.thematic_map``."""
    from wuzhong_geo.maps import thematic_map  # lazy: the layout stack is only needed for maps

    return thematic_map(result, column, scheme="quantiles", k=k, title=title or column)
