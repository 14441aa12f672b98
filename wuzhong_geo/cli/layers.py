"""``wuzhong-geo layers``: export every planning layer for QGIS, a browser or Python."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wuzhong_geo.cli.app import BoundariesOption, ZoneRulesOption, app, apply_options


@app.command("layers")
def layers_command(
    out: Annotated[Path, typer.Option("--out", help="输出目录 Output folder.")] = Path("out/layers"),
    fmt: Annotated[
        str, typer.Option("--format", help="gpkg（一个文件多图层）| geojson | parquet. Output format.")
    ] = "gpkg",
    boundaries: BoundariesOption = None,
    zone_rules: ZoneRulesOption = None,
) -> None:
    """导出全部规划图层。 Export every planning layer (district, land, taihu, towns, zones, …)."""
    from wuzhong_geo.export import FORMATS, write_layers  # on use: the CLI starts without geopandas

    if fmt not in FORMATS:
        typer.echo(f"错误 / error: --format must be one of {', '.join(FORMATS)}, not {fmt!r}", err=True)
        raise typer.Exit(code=2)
    apply_options(boundaries, zone_rules)
    for path in write_layers(out, fmt):
        typer.echo(str(path))
