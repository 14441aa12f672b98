"""results.xlsx: the result sheet (Chinese headers), the zone-part sheet and a column dictionary."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from wuzhong_geo.columns import ZONE_PART_COLUMNS, label
from wuzhong_geo.errors import InputError
from wuzhong_geo.outputs.xlsx_writer import XlsxWriter

#: Excel's sheet limit is 1,048,576 rows, one of them the header.
XLSX_MAX_ROWS = 1_048_575
#: Wide columns of the result sheet (characters).
_WIDE = ("message", "zone_breakdown", "flag_notes")


def xlsx_too_many_rows(rows: int) -> str:
    """The message for an XLSX request beyond Excel's row limit, naming what to use instead."""
    return (
        f"输入约 {rows:,} 行，超过 Excel 工作表上限 1,048,576 行，无法写出 results.xlsx；"
        "请改用 --formats csv,parquet（或 gpkg），Excel 可通过“数据 > 自文本/CSV”分批读取 CSV。 / "
        f"about {rows:,} rows exceed Excel's 1,048,576-row sheet limit: results.xlsx cannot hold them. "
        "Use --formats csv,parquet (or gpkg) instead; open the GeoParquet in QGIS or pandas."
    )


class ResultWorkbook:
    """Stream result chunks into results.xlsx; :meth:`close` adds the column dictionary."""

    def __init__(self, path: Path, columns: list[str]):
        self.columns = [c for c in columns if c != "geometry"]
        self._book = XlsxWriter(path)
        headers = [label(c)[0] for c in self.columns]
        widths = [8 if c == "row_id" else 40 if c in _WIDE else 14 for c in self.columns]
        self._results = self._book.add_sheet("核查结果", self.columns, headers, widths)
        self._parts: str | None = None
        self._rows = 0

    def count(self, rows: int) -> None:
        """Count ``rows`` more result rows; InputError past Excel's row limit (before they are written)."""
        self._rows += rows
        if self._rows > XLSX_MAX_ROWS:
            raise InputError(xlsx_too_many_rows(self._rows))

    def append(self, sites: pa.Table | pd.DataFrame, zone_parts: pa.Table | pd.DataFrame | None = None) -> None:
        """Append one chunk of results (counted with :meth:`count` first) and its zone parts
        (Arrow tables as :attr:`~wuzhong_geo.outputs.table.ChunkData.table` holds them, or frames)."""
        self._book.append(self._results, sites)
        if zone_parts is not None and len(zone_parts):
            if self._parts is None:
                cols = list(ZONE_PART_COLUMNS)
                self._parts = self._book.add_sheet(
                    "功能区面积明细", cols, [label(c)[0] for c in cols], [10] * len(cols)
                )
            self._book.append(self._parts, zone_parts)

    def close(self) -> None:
        """Add the column dictionary sheet and write the workbook."""
        dictionary = pd.DataFrame(
            {
                "列名 column": self.columns,
                "中文名": [label(c)[0] for c in self.columns],
                "说明 description": [label(c)[1] for c in self.columns],
            }
        )
        sheet = self._book.add_sheet("字段说明", list(dictionary.columns), widths=[24, 20, 70])
        self._book.append(sheet, dictionary)
        self._book.close()

    def abort(self) -> None:
        """Drop the partial workbook."""
        self._book.abort()
