"""``wuzhong-geo maps`` and ``wuzhong-geo atlas``: the report maps and the per-town atlas."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wuzhong_geo.cli.app import OUT_PATH, BoundariesOption, ZoneRulesOption, app, apply_options, check_out, fail
from wuzhong_geo.errors import InputError

DemOption = Annotated[
    Path | None,
    typer.Option("--dem", help="数字高程模型（GeoTIFF），绘制晕渲底图。 DEM for a hillshade under the layers.",
                 dir_okay=False),
]
DateOption = Annotated[
    str | None,
    typer.Option("--date", help="图上日期 YYYY-MM-DD（默认今天或 $SOURCE_DATE_EPOCH）。 Date printed on the maps."),
]
SizeOption = Annotated[
    str, typer.Option("--size", help="页面 A4 | A3 | 16:9（横向）。 Page size (landscape).")
]


def _check_dem(dem: Path | None) -> None:
    if dem is not None and not dem.is_file():
        fail(f"--dem {dem}: 找不到高程文件 / DEM file not found")


@app.command("maps")
def maps_command(
    out: Annotated[Path, typer.Option("--out", parser=OUT_PATH, help="输出目录 Output folder.")] = Path("maps"),
    fmt: Annotated[str, typer.Option("--format", help="png,pdf,svg（逗号分隔）。 Comma-separated formats.")] = "png",
    dpi: Annotated[int, typer.Option("--dpi", min=50, max=1200, help="PNG 分辨率。 PNG resolution.")] = 300,
    size: SizeOption = "A4",
    date: DateOption = None,
    dem: DemOption = None,
    only: Annotated[str | None, typer.Option("--only", help="只画部分图，如 01,05。 Only these maps (slugs or numbers).")] = None,
    boundaries: BoundariesOption = None,
    zone_rules: ZoneRulesOption = None,
) -> None:
    """绘制标准图件（区位图、功能分区图……专题图）。 Render the standard map set."""
    check_out(out)
    from wuzhong_geo.maps import render_standard_set
    from wuzhong_geo.maps.layout import page_size
    from wuzhong_geo.maps.output import map_date, parse_formats
    from wuzhong_geo.maps.standard import select_maps

    selected = tuple(s.strip() for s in only.split(",")) if only is not None else None
    try:
        formats = parse_formats(fmt)
        page_size(size)
        when = map_date(date)
        select_maps(selected)
    except ValueError as exc:
        fail(str(exc))
    _check_dem(dem)
    apply_options(boundaries, zone_rules)
    try:
        paths = render_standard_set(out, formats=formats, dpi=dpi, size=size, date=when, dem=dem, only=selected)
    except (InputError, OSError) as exc:
        fail(str(exc))
    for path in paths:
        typer.echo(str(path))


@app.command("atlas")
def atlas_command(
    out: Annotated[Path, typer.Option("--out", parser=OUT_PATH, help="输出 PDF。 Output PDF.")] = Path("maps/atlas.pdf"),
    png_dir: Annotated[Path | None, typer.Option(
        "--png-dir", parser=OUT_PATH, help="另存每页 PNG 的目录。 Also write one PNG per page here.")] = None,
    dpi: Annotated[int, typer.Option("--dpi", min=50, max=1200, help="PNG 分辨率。 PNG resolution.")] = 300,
    size: SizeOption = "A4",
    date: DateOption = None,
    dem: DemOption = None,
    boundaries: BoundariesOption = None,
    zone_rules: ZoneRulesOption = None,
) -> None:
    """生成镇（街道）图集：每镇一页。 Render the town atlas, one page per town."""
    from wuzhong_geo.maps import render_atlas
    from wuzhong_geo.maps.layout import page_size
    from wuzhong_geo.maps.output import map_date

    if out.suffix.lower() != ".pdf":
        fail(f"--out {str(out)!r}: 须为 .pdf 文件 / must be a .pdf file")
    check_out(out, kind="file")
    if png_dir is not None:
        check_out(png_dir, option="--png-dir")
    _check_dem(dem)
    apply_options(boundaries, zone_rules)
    try:
        page_size(size)
        when = map_date(date)
    except ValueError as exc:
        fail(str(exc))
    try:
        path = render_atlas(out, png_dir=png_dir, dem=dem, date=when, size=size, dpi=dpi)
    except InputError as exc:
        fail(str(exc))
    typer.echo(str(path))
    if png_dir is not None:
        typer.echo(str(png_dir))
