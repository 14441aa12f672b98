"""results.csv: rows appended chunk by chunk with Arrow's C++ CSV writer, UTF-8 with a BOM for Excel.

Text cells that a spreadsheet would run as a formula get a leading ``'`` (:mod:`wuzhong_geo.csvsafe`).
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from wuzhong_geo.csvsafe import safe_frame


class CsvWriter:
    """Append DataFrames (same columns each time) to one CSV file."""

    def __init__(self, path: Path, columns: list[str]):
        self.path = Path(path)
        self.columns = list(columns)
        self._first = True

    def append(self, frame: pd.DataFrame) -> None:
        """Write ``frame[columns]``; the first call writes the BOM and the header."""
        table = pa.Table.from_pandas(safe_frame(frame[self.columns]), preserve_index=False)
        with open(self.path, "wb" if self._first else "ab") as f:
            if self._first:
                f.write(codecs.BOM_UTF8)
            pa_csv.write_csv(  # quoting "needed" quotes every text cell, CR and LF included
                table,
                f,
                write_options=pa_csv.WriteOptions(include_header=self._first, quoting_style="needed"),
            )
        self._first = False

    def close(self) -> None:
        """Nothing to flush (each append closes the file)."""
