"""results.csv: rows appended chunk by chunk with Arrow's C++ CSV writer, UTF-8 with a BOM for Excel.

Text cells that a spreadsheet would run as a formula get a leading ``'``
(:func:`wuzhong_geo.csvsafe.safe_table`, vectorised); numeric columns stay numbers.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv

from wuzhong_geo.csvsafe import safe_table


class CsvWriter:
    """Append Arrow tables (same columns each time) to one CSV file, kept open between chunks."""

    def __init__(self, path: Path, columns: list[str], header: bool = True):
        self.path = Path(path)
        self.columns = list(columns)
        self._header = header  # False: rows only (the Dask engine's parts, joined after one header)
        self._file: pa.NativeFile | None = None
        self._writer: pa_csv.CSVWriter | None = None
        self._schema: pa.Schema | None = None

    def append(self, table: pa.Table) -> None:
        """Write ``table[columns]``; the first call writes the BOM and the header."""
        table = safe_table(table.select(self.columns))
        if self._writer is None:
            self._file = pa.OSFile(str(self.path), "wb")  # native file: writes without the GIL
            if self._header:
                self._file.write(codecs.BOM_UTF8)
            # quoting "needed" quotes every text cell, CR and LF included
            options = pa_csv.WriteOptions(include_header=self._header, quoting_style="needed")
            self._schema = table.schema
            self._writer = pa_csv.CSVWriter(self._file, self._schema, write_options=options)
        self._writer.write_table(table.cast(self._schema))

    def close(self) -> None:
        """Finish the file."""
        if self._writer is not None:
            self._writer.close()
            self._file.close()
            self._writer = None

    def abort(self) -> None:
        """Close the file without finishing (the folder is removed by its owner)."""
        if self._file is not None and not self._file.closed:
            self._file.close()
