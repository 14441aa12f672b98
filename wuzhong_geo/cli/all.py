"""``wuzhong-geo all``: the main job — every output of the toolkit from the bundled data."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from wuzhong_geo.cli.app import (
    OUT_PATH,
    BoundariesOption,
    ZoneRulesOption,
    app,
    apply_options,
    check_out,
    fail,
)
from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import data_dir


@app.command("all")
def all_command(
    out: Annotated[Path, typer.Option(
        "--out", parser=OUT_PATH, help="表格与核查结果目录 Folder for tables and check results.")] = Path("out"),
    maps_dir: Annotated[Path, typer.Option(
        "--maps", parser=OUT_PATH, help="地图输出目录 Folder for the maps.")] = Path("maps"),
    dpi: Annotated[int, typer.Option("--dpi", min=50, max=1200, help="PNG 分辨率 PNG resolution.")] = 300,
    atlas: Annotated[bool, typer.Option("--atlas/--no-atlas", help="同时生成分镇图集 Also render the town atlas.")] = True,
    sites: Annotated[
        Path | None,
        typer.Option("--sites", help="要核查的项目清单（默认：随包样例） Project list to check (default: bundled sample)."),
    ] = None,
    boundaries: BoundariesOption = None,
    zone_rules: ZoneRulesOption = None,
) -> None:
    """运行主任务：图层、标准图集、网页地图、样例项目核查、指标表。 Run the main job on the bundled data."""
    check_out(out)
    check_out(maps_dir, option="--maps")
    if sites is not None and not sites.is_file():
        fail(f"--sites {sites}: 找不到文件 / file not found")
    apply_options(boundaries, zone_rules)
    from wuzhong_geo import indicators, maps, web
    from wuzhong_geo.export import write_layers
    from wuzhong_geo import pipeline
    from wuzhong_geo.indicators.unit_outputs import write_unit_indicators

    sample = sites or data_dir() / "samples" / "projects.csv"
    steps = [
        ("图层 layers", lambda: write_layers(out / "layers", "gpkg")),
        ("项目核查 site check", lambda: pipeline.run(sample, out / "check")),
        ("指标 indicators", lambda: indicators.write_indicator_outputs(out / "indicators")),
        ("镇级指标 town indicators", lambda: write_unit_indicators(out / "town_indicators", "town")),
        ("网页地图 web map", lambda: web.write_webmap(maps_dir / "wuzhong.html", sites=out / "check" / "results.gpkg")),
        ("标准图集 standard maps", lambda: maps.render_standard_set(maps_dir, formats=("png", "pdf"), dpi=dpi)),
    ]
    if atlas:
        steps.append(("分镇图集 atlas", lambda: maps.render_atlas(maps_dir / "atlas.pdf")))
    for label, step in steps:
        start = time.perf_counter()
        try:
            step()
        except (InputError, OSError) as exc:
            fail(f"{label}: {exc}")
        typer.echo(f"✓ {label} ({time.perf_counter() - start:.1f} s)")
    typer.echo(f"输出 outputs: {out}/, {maps_dir}/")
