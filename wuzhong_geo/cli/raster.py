"""``wuzhong-geo rasterize`` and ``wuzhong-geo zonal``: planning grids and zonal statistics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wuzhong_geo.cli.app import (
    OUT_PATH, BoundariesOption, app, apply_options, check_encoding_option, check_out, fail, number,
)
from wuzhong_geo.errors import InputError


@app.command("rasterize")
def rasterize_command(
    out: Annotated[Path, typer.Option("--out", parser=OUT_PATH, help="输出目录 Output folder.")] = Path("out/rasters"),
    res: Annotated[float, typer.Option("--res", help="像元大小（米，EPSG:4549） Cell size in metres.",
                                       callback=number("--res", maximum=10_000))] = 30.0,
    layer_names: Annotated[
        str, typer.Option("--layers", help="逗号分隔：towns,functional_zones,subregions,management_zones. "
                          "Comma-separated layers.")
    ] = "towns,functional_zones,subregions",
    boundaries: BoundariesOption = None,
) -> None:
    """把规划单元栅格化到同一网格（GeoTIFF+色表+类别表）。 Rasterize planning units onto one shared grid."""
    from wuzhong_geo import raster

    check_out(out)
    apply_options(boundaries)
    names = [n.strip() for n in layer_names.split(",") if n.strip()]
    try:
        paths = raster.rasterize(out, res, names)
    except InputError as exc:
        fail(str(exc))
    for path in paths:
        typer.echo(str(path))


@app.command("zonal")
def zonal_command(
    raster_path: Annotated[Path, typer.Argument(help="任意坐标系的单/多波段栅格。 A raster in any CRS.",
                                                dir_okay=False)],
    by: Annotated[str, typer.Option("--by", help="towns | functional_zones | subregions | management_zones "
                                    "| 矢量文件 a polygon file.")] = "towns",
    stats: Annotated[str, typer.Option("--stats", help="统计量 Statistics, e.g. mean,sum,min,max,count.")]
    = "mean,sum,min,max,count",
    out: Annotated[Path, typer.Option("--out", parser=OUT_PATH, help="输出 CSV Output table.")] = Path("out/zonal.csv"),
    map_png: Annotated[Path | None, typer.Option(
        "--map", parser=OUT_PATH, help="同时出专题图（第一项统计）。 Also draw a thematic map of the first statistic.")]
    = None,
    encoding: Annotated[str | None, typer.Option(
        "--encoding", help="--by 矢量文件的文本编码（默认自动识别，含无 .cpg 的 GBK Shapefile）。 Text encoding of the --by file "
                           "(default: detected, GBK Shapefiles without .cpg included).")] = None,
    boundaries: BoundariesOption = None,
) -> None:
    """按单元统计栅格（边缘像元按覆盖比例加权）。 Zonal statistics per unit, edge cells weighted by coverage."""
    from wuzhong_geo import raster
    from wuzhong_geo.csvsafe import write_csv
    from wuzhong_geo.outdir import write_file_atomically

    check_out(out, kind="file")
    if map_png is not None:
        check_out(map_png, option="--map", kind="file")
    check_encoding_option(encoding)
    apply_options(boundaries)
    if not raster_path.is_file():
        fail(f"{raster_path}: 找不到栅格文件 / raster file not found")
    try:
        raster._parse_stats(stats)
        result = raster.zonal_stats(raster_path, by, stats, encoding=encoding)
        write_file_atomically(out, lambda tmp: write_csv(raster.zonal_table(result, by), tmp))
    except (InputError, OSError) as exc:
        fail(str(exc))
    typer.echo(str(out))
    if map_png is not None:
        stat = stats.split(",")[0].strip()
        first = stat if stat in result.columns else f"band1_{stat}"
        if first not in result.columns:
            first = result.columns[-1]
        try:
            fig = raster.zonal_map(result, first, title=f"{raster_path.name}: {first}")
        except InputError as exc:
            fail(str(exc))
        try:
            write_file_atomically(map_png, lambda tmp: fig.savefig(tmp, dpi=150, bbox_inches="tight", format="png"),
                                  option="--map")
        except (InputError, OSError) as exc:
            fail(str(exc))
        import matplotlib.pyplot as plt

        plt.close(fig)
        typer.echo(str(map_png))
