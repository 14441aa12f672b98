"""``wuzhong-geo layers``: export every planning layer for QGIS, a browser or Python."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wuzhong_geo.cli.app import OUT_PATH, BoundariesOption, ZoneRulesOption, app, apply_options, check_out, fail
from wuzhong_geo.errors import InputError


@app.command("layers")
def layers_command(
    out: Annotated[Path, typer.Option("--out", parser=OUT_PATH, help="输出目录 Output folder.")] = Path("out/layers"),
    fmt: Annotated[
        str, typer.Option("--format", help="gpkg（一个文件多图层）| geojson | parquet. Output format.")
    ] = "gpkg",
    boundaries: BoundariesOption = None,
    zone_rules: ZoneRulesOption = None,
) -> None:
    """导出全部规划图层。 Export every planning layer (district, land, taihu, towns, zones, …)."""
    from wuzhong_geo.export import FORMATS, write_layers  # on use: the CLI starts without geopandas

    if fmt not in FORMATS:
        fail(f"--format {fmt!r}: 可选 / must be one of {', '.join(FORMATS)}")
    check_out(out)
    apply_options(boundaries, zone_rules)
    try:
        paths = write_layers(out, fmt)
    except (InputError, OSError) as exc:
        fail(str(exc))
    for path in paths:
        typer.echo(str(path))
