"""``wuzhong-geo indicators`` and ``wuzhong-geo join``: plan indicators, and any town table on a map."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from wuzhong_geo.cli.app import OUT_PATH, BoundariesOption, app, apply_options, check_out, fail
from wuzhong_geo.errors import InputError


class UnitKind(str, Enum):
    """Spatial units of ``indicators --by``."""

    town = "town"
    zone = "zone"
    subregion = "subregion"
    management_zone = "management_zone"


@app.command("indicators")
def indicators_command(
    out: Annotated[Path, typer.Option("--out", parser=OUT_PATH, help="输出目录 Output folder.")] = Path(
        "out/indicators"),
    by: Annotated[UnitKind | None, typer.Option(
        "--by", help="按单元计算空间指标（镇街、功能区、片区、管理主体）而非表1/表2："
        "面积、功能区占比、基础设施里程与站点、各类地点、驻地至轨道站距离。"
        " Per-unit indicators from the plan's layers instead of Tables 1/2.")] = None,
    boundaries: BoundariesOption = None,
) -> None:
    """规划表1/表2指标表（CSV、XLSX）及目标进展图；--by 输出按单元的空间指标。
    Plan indicator tables (CSV, XLSX) and progress charts; with --by, per-unit indicators (CSV, XLSX, GPKG).
    """
    check_out(out)
    apply_options(boundaries)
    if by is not None:
        _unit_indicators(out, by.value)
        return
    from wuzhong_geo.indicators import progress, status_counts, write_indicator_outputs

    try:
        paths = write_indicator_outputs(out)
    except (InputError, OSError) as exc:
        fail(str(exc))
    for path in paths:
        typer.echo(str(path))
    counts = status_counts(progress())
    typer.echo("表2进展 / Table 2 progress: " + ", ".join(f"{k} {v}" for k, v in counts.items()), err=True)


def _unit_indicators(out: Path, by: str) -> None:
    from wuzhong_geo.indicators.unit_outputs import write_unit_indicators

    try:
        paths = write_unit_indicators(out, by)
    except (InputError, OSError) as exc:
        fail(str(exc))
    for path in paths:
        typer.echo(str(path))


@app.command("join")
def join_command(
    table: Annotated[Path, typer.Argument(help="镇（街道）统计表 CSV/XLSX。 Town-level table (CSV or XLSX).",
                                          dir_okay=False)],
    key: Annotated[str, typer.Option("--key", help="镇街名称或代码所在列。 Column with town names or codes.")],
    value: Annotated[str, typer.Option("--value", help="要制图的数值列。 Numeric column to map.")],
    out: Annotated[Path, typer.Option("--out", parser=OUT_PATH, help="输出目录 Output folder.")] = Path("out/join"),
    sheet: Annotated[str | None, typer.Option(
        "--sheet", help="XLSX 工作表名称或序号（默认第一个）。 XLSX sheet name or 0-based index.")] = None,
    scheme: Annotated[str, typer.Option(
        "--scheme", help="分级方法（mapclassify）：quantiles、equal_interval、natural_breaks、fisher_jenks…"
        " Classification scheme.")] = "quantiles",
    k: Annotated[int, typer.Option("-k", "--classes", min=1, max=9, help="分级数 Number of classes.")] = 5,
    title: Annotated[str | None, typer.Option("--title", help="图名 Map title.")] = None,
    legend_title: Annotated[str | None, typer.Option(
        "--legend-title", help="图例标题（默认为数值列名）。 Legend title (default: the value column).")] = None,
    boundaries: BoundariesOption = None,
) -> None:
    """把镇（街道）统计表连接到地图并制作分级设色图。 Join a town-level table to the map and draw a choropleth.

    写出 choropleth.png/.pdf/.html、joined.csv 与 unmatched.csv（未匹配的每一行及原因）。
    Writes choropleth.png/.pdf/.html, joined.csv and unmatched.csv (every row not joined, with the reason).
    """
    from wuzhong_geo.maps.thematic import SCHEMES

    if scheme.lower().replace(" ", "_").replace("-", "_") not in SCHEMES or scheme == "user_defined":
        fail(f"--scheme {scheme!r}: 未知的分级方法，可选 / unknown classification scheme; choose one of "
             + ", ".join(s for s in SCHEMES if s != "user_defined"))
    check_out(out)
    apply_options(boundaries)
    from wuzhong_geo.csvsafe import write_csv
    from wuzhong_geo.indicators.join import join_to_towns, read_table, unmatched_table
    from wuzhong_geo.outdir import publish, staging

    sheet_arg: str | int | None = int(sheet) if sheet is not None and sheet.isdigit() else sheet
    try:
        frame = read_table(table, sheet=sheet_arg)
        towns, report = join_to_towns(frame, key=key, value=value)
    except InputError as exc:
        fail(str(exc))
    column = report.value_column
    typer.echo(report.summary(), err=True)
    n_values = int(towns[column].notna().sum())
    left_off = unmatched_table(frame, report)
    if n_values == 0:
        fail(f"“{value}”列没有任何镇（街道）得到有限数值，未写出任何文件；原因见上方摘要（{len(left_off)} 行） / "
             f"no town got a finite numeric value from column {value!r}; nothing was written — the summary "
             f"above lists the {len(left_off)} row(s) and why")
    classes = max(1, min(k, int(towns[column].nunique())))
    map_title = title or f"{value}（按镇、街道）"
    subtitle = (f"数据：{table.name}；{n_values} 个镇（街道）有数据，"
                f"{len(towns) - n_values} 个无数据；分级：{scheme}，{classes} 级")
    try:
        with staging(out) as tmp:
            write_csv(towns.drop(columns=towns.geometry.name), tmp / "joined.csv")
            write_csv(left_off, tmp / "unmatched.csv")
            written = _draw(towns, column, tmp, scheme=scheme, k=classes, title=map_title, subtitle=subtitle,
                            legend_title=legend_title or value)
            names = [p.name for p in written] + ["joined.csv", "unmatched.csv"]
            paths = publish(tmp, out, names)
    except (InputError, OSError) as exc:
        fail(str(exc))
    for path in paths:
        typer.echo(str(path))


def _draw(towns, column: str, out: Path, *, scheme: str, k: int, title: str, subtitle: str,
          legend_title: str) -> list[Path]:
    """Render the static (PNG, PDF) and offline web (HTML) choropleths; bad options exit with code 2."""
    import matplotlib.pyplot as plt

    from wuzhong_geo import maps, web

    try:
        fig = maps.thematic_map(towns, column, scheme=scheme, k=k, title=title, subtitle=subtitle,
                                legend_title=legend_title, no_data_label="无数据")
        # maps.save_figure: reproducible PNG, and PDF with an embeddable (TrueType) CJK font
        png = maps.save_figure(fig, out / "choropleth.png", title=title)
        pdf = maps.save_figure(fig, out / "choropleth.pdf", title=title)
        plt.close(fig)
        m = web.choropleth_map(towns, column, scheme=scheme, k=k, title=title, legend_title=legend_title,
                               no_data_label="无数据")
        html = web.save_offline(m, out / "choropleth.html")
    except (InputError, ValueError, KeyError) as exc:
        fail(f"cannot draw the choropleth: {exc}")
    return [png, pdf, Path(html)]
