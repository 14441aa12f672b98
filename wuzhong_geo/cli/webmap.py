"""``wuzhong-geo webmap``: one self-contained interactive HTML map (works offline by default)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wuzhong_geo.cli.app import OUT_PATH, BoundariesOption, ZoneRulesOption, app, apply_options, check_out, fail
from wuzhong_geo.errors import WuzhongGeoError


@app.command("webmap")
def webmap_command(
    out: Annotated[Path, typer.Option("--out", parser=OUT_PATH, help="输出 HTML 文件 Output HTML file.")] = Path(
        "maps/wuzhong.html"),
    tiles: Annotated[str, typer.Option(
        "--tiles",
        help="底图：none（默认，完全离线）| osm | tianditu（需密钥）| amap（GCJ-02）。"
             " Base tiles: none (default, fully offline) | osm | tianditu (key) | amap (GCJ-02).",
    )] = "none",
    tianditu_key: Annotated[str | None, typer.Option(
        "--tianditu-key",
        help="天地图密钥（或环境变量 TIANDITU_KEY）。 Tianditu key (or env TIANDITU_KEY).",
    )] = None,
    sites: Annotated[Path | None, typer.Option(
        "--sites", help="选址核查结果（如 results.gpkg）。 Site-check results to overlay.",
        dir_okay=False,
    )] = None,
    amap_shift: Annotated[bool, typer.Option(
        "--amap-shift/--no-amap-shift",
        help="高德底图时把图层偏移到 GCJ-02 显示（默认）。 With Amap tiles, shift the layers to "
             "GCJ-02 for display (default).",
    )] = True,
    boundaries: BoundariesOption = None,
    zone_rules: ZoneRulesOption = None,
) -> None:
    """生成可离线打开的交互式网页地图。 Write the interactive web map as one offline HTML file."""
    check_out(out, kind="file")
    apply_options(boundaries, zone_rules)
    from wuzhong_geo.web import save_offline, webmap  # folium and friends load only when needed

    try:
        m = webmap(tiles=tiles, tianditu_key=tianditu_key, sites=sites, amap_shift=amap_shift)
        path = save_offline(m, out)
    except (WuzhongGeoError, OSError) as exc:
        fail(str(exc))
        return
    size_mb = path.stat().st_size / 1e6
    typer.echo(f"{path} ({size_mb:.1f} MB)")
    if tiles.strip().lower() != "none":
        typer.echo("注意 / note: 此页面会从网络加载底图瓦片 this page loads base tiles from the "
                   "network; use --tiles none for intranets without internet access.", err=True)
