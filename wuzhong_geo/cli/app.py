"""The Typer application and the options every command shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from wuzhong_geo.errors import InputError

app = typer.Typer(
    name="wuzhong-geo",
    help=(
        "吴中区“十四五”规划空间结构 GIS 工具：图层、专题图、网页地图、项目选址核查。\n\n"
        "GIS toolkit for the spatial structure of Wuzhong District's 14th Five-Year Plan: "
        "layers, maps, web maps, site checks."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

BoundariesOption = Annotated[
    Optional[Path],
    typer.Option(
        "--boundaries",
        help="官方镇（街道）边界文件（shp/zip/gpkg/geojson，任意坐标系），替换示意边界。"
        " Official town boundaries (any vector file, any CRS) replacing the schematic ones.",
        exists=False,
        dir_okay=False,
    ),
]
ZoneRulesOption = Annotated[
    Optional[Path],
    typer.Option(
        "--zone-rules",
        help="功能区拆分规则 YAML（默认使用内置规则）。 Zone split rules YAML (default: bundled).",
        dir_okay=False,
    ),
]


def fail(message: str) -> None:
    """Print a user-facing error to stderr and exit with code 2."""
    typer.echo(f"错误 / error: {message}", err=True)
    raise typer.Exit(code=2)


def apply_options(boundaries: Optional[Path] = None, zone_rules: Optional[Path] = None) -> None:
    """Switch the layers to official boundaries and/or other zone rules, or fail cleanly."""
    from wuzhong_geo import layers  # on use: the CLI (and `serve`) starts without geopandas

    try:
        layers.use_boundaries(boundaries)
        layers.use_zone_rules(zone_rules)
    except (InputError, OSError, ValueError) as exc:
        fail(str(exc))


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="详细日志 Verbose logging.")] = False,
) -> None:
    """吴中区“十四五”规划 GIS 工具。 Wuzhong 14th Five-Year Plan GIS toolkit."""
    import logging

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
