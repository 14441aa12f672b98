"""``wuzhong-geo check``: check a project list against the plan and write a result table and a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from wuzhong_geo.cli.app import OUT_PATH, BoundariesOption, app, apply_options, check_out, fail, number
from wuzhong_geo.errors import InputError


@app.command("check")
def check_command(
    input_path: Annotated[Path, typer.Argument(
        metavar="INPUT",
        help="项目清单：CSV（UTF-8/GBK）、XLSX、GeoJSON、GPKG、Shapefile（.shp/.zip）或界址点坐标 TXT。"
             " Project list: CSV, XLSX, GeoJSON, GPKG, Shapefile or parcel coordinate TXT.")],
    out: Annotated[Path, typer.Option(
        "--out", parser=OUT_PATH,
        help="输出目录（results.csv/.parquet/.gpkg/.xlsx、summary.json、report.html）。 Output folder.")],
    crs: Annotated[Optional[str], typer.Option(
        "--crs", help="坐标系：wgs84 | cgcs2000 | gcj02（高德）| bd09（百度）| EPSG:n；默认按数值判断。"
                      " Coordinate flavour; default: decided from the numbers.")] = None,
    lon_col: Annotated[Optional[str], typer.Option("--lon-col", help="经度/X 列名。 Longitude (or X) column.")] = None,
    lat_col: Annotated[Optional[str], typer.Option("--lat-col", help="纬度/Y 列名。 Latitude (or Y) column.")] = None,
    name_col: Annotated[Optional[str], typer.Option("--name-col", help="项目名称列。 Project name column.")] = None,
    category_col: Annotated[Optional[str], typer.Option(
        "--category-col", help="项目类别列（规则按关键词归类）。 Category column used by the rules.")] = None,
    town_col: Annotated[Optional[str], typer.Option(
        "--town-col", help="填报的所在镇（街道）列，与坐标位置比对。 Town column compared with the location.")] = None,
    buffer_m: Annotated[Optional[float], typer.Option(
        "--buffer-m", help="点位缓冲半径（米），按面统计各功能区面积。 Buffer points by N metres.",
        callback=number("--buffer-m", limit="max_buffer_m"))] = None,
    rules: Annotated[Optional[Path], typer.Option(
        "--rules", help="规则矩阵 YAML（默认 data/plan/site_rules.yaml）。 Rule matrix YAML.", dir_okay=False)] = None,
    encoding: Annotated[Optional[str], typer.Option(
        "--encoding", help="文本编码（默认自动识别）。 Text encoding (default: detected).")] = None,
    sheet: Annotated[Optional[str], typer.Option("--sheet", help="Excel 工作表名。 Excel sheet name.")] = None,
    layer: Annotated[Optional[str], typer.Option("--layer", help="矢量文件图层名。 Vector layer name.")] = None,
    formats: Annotated[Optional[str], typer.Option(
        "--formats", help="输出格式，逗号分隔：csv,parquet,gpkg,xlsx,html（默认：20 万行以内全部；更大输入为"
                          " csv,parquet,html）。 Output formats (default: all up to 200,000 rows, "
                          "else csv,parquet,html; summary.json always).")] = None,
    progress: Annotated[Optional[bool], typer.Option(
        "--progress/--no-progress", help="显示进度条（默认：终端中显示）。 Progress bar (default: on a terminal).")] = None,
    engine: Annotated[str, typer.Option(
        "--engine", help="计算引擎：memory（默认）| dask（超大点集：分区 CSV/GeoParquet 输入，--formats parquet,csv,html）。"
                         " memory (default) | dask (very large point sets; see docs/scale.md).")] = "memory",
    scheduler: Annotated[Optional[str], typer.Option(
        "--scheduler", help="Dask 调度器地址（默认启动本机两进程集群）。 Dask scheduler address "
                            "(default: a local cluster of two workers).")] = None,
    partitions: Annotated[Optional[int], typer.Option(
        "--partitions", min=1, max=100_000, help="Dask 分区数（默认按文件或 64 MB）。 Number of Dask partitions.")]
    = None,
    chunk_size: Annotated[Optional[int], typer.Option(
        "--chunk-size", min=1, max=10_000_000,
        help="每块行数（默认 100000，5 万至 30 万行的输入分四块；内存与并行的粒度）。 Rows per chunk (default 100000; "
             "inputs of 50,000-300,000 rows in four chunks; the unit of memory and of parallel work).")] = None,
    workers: Annotated[Optional[int], typer.Option(
        "--workers", min=0, max=64,
        help="核查子进程数（默认 0：单进程；双核机器上实测无益，核数多时可试）。 Forked check processes beside the main one "
             "(default 0: one process; measured no gain on two cores, may help on more).")] = None,
    boundaries: BoundariesOption = None,
) -> None:
    """核查项目选址：所在镇街、功能区、片区、最近规划设施、距太湖湖岸与规则提示。 Check project sites against the plan."""
    if engine not in ("memory", "dask") or (engine == "memory" and (scheduler or partitions)):
        fail("--engine 须为 memory 或 dask；--scheduler/--partitions 仅用于 --engine dask / "
             "--engine must be memory or dask; --scheduler and --partitions need --engine dask")
    if engine == "dask" and workers is not None:
        fail("--workers 仅用于 --engine memory（dask 的进程数由其集群决定）/ --workers is for --engine memory "
             "(Dask's processes are its cluster's)")
    # every option is checked before any work: nothing is read or written for a bad one
    check_out(out)
    from wuzhong_geo import coords, textio

    try:
        if crs is not None:
            coords.parse_crs(crs)
        if encoding is not None:
            textio.check_encoding(encoding)
    except InputError as exc:
        fail(f"--crs/--encoding: {exc}")
    if not input_path.exists():
        fail(f"{input_path}: 找不到输入文件 / input file not found")
    apply_options(boundaries)
    from wuzhong_geo import pipeline

    try:
        if engine == "dask":
            from wuzhong_geo.check_dask import check_dask

            summary = check_dask(
                input_path, out, scheduler=scheduler, partitions=partitions, crs=crs, lon_col=lon_col,
                lat_col=lat_col, name_col=name_col, category_col=category_col, town_col=town_col,
                buffer_m=buffer_m, rules=rules, encoding=encoding, formats=formats,
            )
        else:
            summary = pipeline.run(
                input_path, out, progress=progress, crs=crs, lon_col=lon_col, lat_col=lat_col, name_col=name_col,
                category_col=category_col, town_col=town_col, buffer_m=buffer_m, rules=rules, encoding=encoding,
                sheet=sheet, layer=layer, formats=formats, workers=workers or 0, chunk_size=chunk_size,
            )
    except (InputError, OSError) as exc:
        fail(str(exc))
        return
    status = "，".join(f"{k} {v}" for k, v in summary["counts"]["status"].items())
    levels = summary["counts"]["flag_level"]
    typer.echo(f"{summary['rows']} 行 rows: {status}; 警示 warning {levels.get('warning', 0)}，"
               f"提示 note {levels.get('note', 0)}")
    for name in summary["outputs"]:
        typer.echo(str(out / name))
    for note in summary.get("input", {}).get("notes", []):
        if "/" in note and "rerun" in note:  # hints that change the result, not informational notes
            typer.echo(f"注意 / note: {note}", err=True)
