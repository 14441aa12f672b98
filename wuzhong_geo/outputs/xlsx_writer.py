"""A small, streaming, column-vectorised XLSX writer for large result tables.

xlsxwriter and openpyxl write cell by cell in Python (about 50 s for 100,000 rows x 48 columns on a
2-core machine); this writer builds each column's cell XML with Arrow compute kernels. Text goes to
the workbook's shared-string table (``xl/sharedStrings.xml``): a result repeats the same zone, rule
and plan-quote texts on many rows, so each distinct text is escaped and stored once and a cell holds
its index. Neighbouring columns of few distinct cells (shared strings, booleans, mostly missing
numbers) are joined once per distinct combination and enter each row as one part. The first sheet
streams straight into the archive; later sheets are staged in temporary files. It writes what
results need: typed cells (number, text, boolean), a bold frozen header row with an autofilter,
column widths, several sheets, and rolls over to a new sheet at Excel's 1,048,576-row limit.
Output opens in Excel, LibreOffice, openpyxl and pandas.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from isal import isal_zlib

MAX_ROWS = 1_048_576
MAX_TEXT = 32_767
#: ISA-L deflate level of the worksheets: a third of zlib level 2's CPU on this XML (0.15 vs 0.45 s per
#: 10⁵ result rows), a file 7 % larger; the same deflate format, read by every client.
DEFLATE_LEVEL = 1
#: Rows whose XML is joined at once: the buffers (about 17 MB of XML) are reused from slice to slice
#: instead of a chunk's 100 MB being taken fresh from the system (page faults: sys time).
SLICE_ROWS = 16_384
#: Rows whose cells are built at once, column by column (a result chunk's rows in one go: each kernel
#: call gives up the GIL and may wait to get it back while the check runs), joined in slices.
BLOCK_ROWS = 65_536
# RE2 syntax (Arrow): control characters XML 1.0 forbids, and the two non-characters.
_ILLEGAL = r"[\x{00}-\x{08}\x{0b}\x{0c}\x{0e}-\x{1f}\x{fffe}\x{ffff}]"

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{_NS}">
<fonts count="2"><font><sz val="11"/><name val="等线"/><family val="2"/></font><font><b/><sz val="11"/><name val="等线"/><family val="2"/></font></fonts>
<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill><fill><patternFill patternType="solid"><fgColor rgb="FFEFEFEF"/><bgColor indexed="64"/></patternFill></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""


def column_letter(i: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def _arrow_column(values: pd.Series) -> pa.Array:
    """A pandas column as the Arrow array :func:`_cells` takes: bool, int64, float64, or text (nulls kept)."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return pa.array(values.astype("boolean"), type=pa.bool_(), from_pandas=True)
    if pd.api.types.is_numeric_dtype(dtype):
        num = pa.array(values.to_numpy(dtype=float, na_value=np.nan), type=pa.float64(), from_pandas=True)
        return pc.cast(num, pa.int64(), safe=False) if pd.api.types.is_integer_dtype(dtype) else num
    if pd.api.types.is_datetime64_any_dtype(dtype):
        values = values.dt.strftime("%Y-%m-%d %H:%M:%S").str.replace(" 00:00:00", "", regex=False)
    if not pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
        values = values.astype("string[pyarrow]")
    return pa.array(values, type=pa.large_string(), from_pandas=True)


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    """A pandas frame as an Arrow table of :func:`_arrow_column` columns."""
    return pa.table({str(c): _arrow_column(frame[c].reset_index(drop=True)) for c in frame.columns})


def _escape(arr: pa.Array) -> pa.Array:
    """A large_string array's texts as XML character data: XML-illegal characters removed, cut to Excel's
    cell limit, ``&<>`` escaped. Each step runs only where the text's bytes may need it (a look at the
    data buffer costs a small fraction of Arrow's character scans)."""
    data = bytes(_buffer(arr))
    # The regex only runs on columns holding a non-printable character (rare): it is the slow step.
    # Arrow's look for one runs only if a byte may start one: a control character (tab, newline and
    # carriage return are legal) or 0xEF, the lead byte of U+FFFE/U+FFFF (and of full-width forms).
    may = bool(data) and (np.frombuffer(data, dtype=np.uint8).min() < 0x20 or b"\xef" in data)
    if may and not pc.all(pc.utf8_is_printable(arr)).as_py():
        arr = pc.replace_substring_regex(arr, _ILLEGAL, "")
    if len(arr) and np.diff(_offsets(arr)).max() > MAX_TEXT and (pc.max(pc.utf8_length(arr)).as_py() or 0) > MAX_TEXT:
        arr = pc.utf8_slice_codeunits(arr, 0, MAX_TEXT)  # more bytes than the limit's characters: count them
    for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        if old.encode() in data:
            arr = pc.replace_substring(arr, old, new)
    return arr


def _join(*parts) -> pa.Array:
    """Element-wise concatenation of arrays and constant strings (nulls propagate)."""
    args = [pa.scalar(p, pa.large_string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*args, pa.scalar("", pa.large_string()))


class SharedStrings:
    """The workbook's shared-string table: each distinct text once, cells refer to it by index."""

    def __init__(self):
        self.index: dict[str, int] = {}

    def add(self, texts: list[str]) -> np.ndarray:
        """The shared-string index of each of the distinct ``texts`` (-1 for empty text)."""
        table = self.index
        # only distinct texts go through Python
        return np.fromiter((table.setdefault(t, len(table)) if t else -1 for t in texts), np.int64, len(texts))

    def xml(self) -> bytes:
        """xl/sharedStrings.xml: the distinct texts, cleaned of XML-illegal characters and escaped."""
        texts = _escape(pa.array(list(self.index), type=pa.large_string()))
        items = _join('<si><t xml:space="preserve">', texts, "</t></si>")
        head = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{_NS}" '
            f'uniqueCount="{len(self.index)}">'
        )
        return head.encode("utf-8") + _buffer(items) + b"</sst>"


def _buffer(arr: pa.Array) -> bytes | memoryview:
    """The concatenated bytes of a large_string array, straight from its data buffer."""
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    if not len(arr) or arr.buffers()[2] is None:  # no text at all
        return b""
    offsets = _offsets(arr)
    return memoryview(arr.buffers()[2])[int(offsets[0]) : int(offsets[-1])]


def _offsets(arr: pa.Array) -> np.ndarray:
    """The value offsets of a large_string array (its texts' bounds in its data buffer)."""
    return np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]


@dataclass
class _Coded:
    """A column of few distinct cells: each row's index (``codes``) into ``cells``, the distinct cells' XML.

    Neighbouring coded columns are joined into one, a run (:func:`_coded_parts`), coded the same way over
    their distinct combinations of cells: the row join then copies one part per run of them instead of
    one per column. The few cells are Python strings: joined in Python
    they cost no kernel call (each gives up the GIL and may wait to get it back while the check runs).
    """

    codes: np.ndarray  # int64, one per row
    cells: list[str]


def _text_cells(values: pa.Array, strings: SharedStrings) -> _Coded | list[str | pa.Array]:
    """Cells of a text column: shared strings (coded) when texts repeat, inline strings (parts of the row
    join, as :func:`_cells`) when most are unique.

    A dictionary column (the writers' categoricals) is used as it is: its distinct texts are known.
    """
    encoded = not pa.types.is_dictionary(values.type)
    if encoded:
        values = pc.dictionary_encode(values)
    dictionary = values.dictionary
    dictionary = dictionary if dictionary.type == pa.large_string() else pc.cast(dictionary, pa.large_string())
    # each row's text, len(dictionary) where it is missing
    codes = (pc.fill_null(values.indices, len(dictionary)) if values.null_count else values.indices).to_numpy()
    # a dictionary may hold texts no row uses: they stay out of the shared strings
    used = np.bincount(codes, minlength=len(dictionary) + 1)[:-1] > 0
    if used.sum() * 2 <= len(values):
        ids = np.full(len(dictionary), -1, dtype=np.int64)
        texts = dictionary.to_pylist()  # the column's distinct texts, or a categorical's categories
        ids[used] = strings.add([texts[i] for i in np.flatnonzero(used).tolist()])
        # each distinct text's whole cell, built once, and one more for missing values (empty text: an
        # empty cell, too)
        cells = [f'<c t="s"><v>{i}</v></c>' if i >= 0 else "<c/>" for i in ids.tolist()]
        return _Coded(codes.astype(np.int64), [*cells, "<c/>"])
    text = _escape(dictionary)
    if len(text) and np.diff(_offsets(text)).min() == 0:  # empty texts: empty cells
        text = pc.if_else(pc.equal(text, pa.scalar("", pa.large_string())), pa.scalar(None, pa.large_string()), text)
    # xml:space="preserve" only where a text starts or ends with a space (a third of these bytes)
    shown = text if used.all() else text.filter(pa.array(used))
    padded = pc.any(pc.not_equal(pc.utf8_trim_whitespace(shown), shown))
    # every text different and present: the dictionary (in order of first use) is the column itself
    if not (encoded and len(dictionary) == len(values) and not values.null_count):
        text = pc.take(text, values.indices)
    head = '<c t="inlineStr"><is><t xml:space="preserve">' if padded.as_py() else '<c t="inlineStr"><is><t>'
    return _parts(head, text, "</t></is></c>")


def _cells(values: pa.Array | pa.ChunkedArray, strings: SharedStrings) -> _Coded | list[str | pa.Array]:
    """The XML of one column's cells, built with Arrow compute kernels: a :class:`_Coded` column when its
    cells are few (booleans, shared strings, mostly missing numbers), else parts of the row join (see
    :meth:`XlsxWriter._write_rows`): ``[head, values, tail]`` when no value is missing (the constant parts
    join their neighbours'), else ``[cells]`` with ``<c/>`` for the missing values.

    Cells carry no ``r`` reference: ECMA-376 makes it optional and a cell without one is the next
    column of its row (Excel, LibreOffice, openpyxl, calamine read it so); that is a third of the XML.
    """
    values = _one_array(values)
    kind = values.type
    if pa.types.is_boolean(kind):
        codes = pc.fill_null(pc.cast(values, pa.int8()), 2).to_numpy().astype(np.int64)
        return _Coded(codes, ['<c t="b"><v>0</v></c>', '<c t="b"><v>1</v></c>', "<c/>"])
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        if values.null_count == len(values):  # no number at all (a point input's areas): no kernel call
            return _coded_numbers(values)
        if pa.types.is_floating(kind):  # NaN and infinities: empty cells (Excel has no such numbers)
            values = pc.if_else(pc.is_finite(values), values, pa.scalar(None, kind))
        if values.null_count * 2 >= len(values):  # mostly missing: few distinct cells
            return _coded_numbers(values)
        return _parts("<c><v>", pc.cast(values, pa.large_string()), "</v></c>")
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        values = pc.replace_substring(pc.strftime(values, "%Y-%m-%d %H:%M:%S"), " 00:00:00", "")
    elif not (pa.types.is_dictionary(kind) or pa.types.is_large_string(kind)):
        values = pc.cast(values, pa.large_string())
    return _text_cells(values, strings)


def _coded_numbers(values: pa.Array) -> _Coded:
    """A number column as a coded one: its distinct numbers' cells, then ``<c/>`` for missing values."""
    if values.null_count == len(values):
        return _Coded(np.zeros(len(values), dtype=np.int64), ["<c/>"])
    encoded = pc.dictionary_encode(values)
    numbers = pc.cast(encoded.dictionary, pa.large_string()).to_pylist()
    codes = pc.fill_null(encoded.indices, len(numbers)).to_numpy().astype(np.int64)
    return _Coded(codes, [*(f"<c><v>{v}</v></c>" for v in numbers), "<c/>"])


def _coded_parts(columns: list[_Coded], rows: int) -> list[str | _Coded]:
    """Neighbouring coded columns as parts of the row join: each run of them whose combinations stay
    few (at most a quarter of the rows) as one :class:`_Coded`, one with a single combination (e.g. all
    missing) as a constant."""
    if len(columns) == 1:
        return [_run(columns, columns[0].codes, len(columns[0].cells))]
    limit = max(rows // 4, 1)
    key, count = _combined(columns)
    if count <= limit:  # the usual case: one run, found with one count of the combinations
        return [_run(columns, key, count, dense=True)]
    out: list[str | _Coded] = []
    start, key, bound, dense = 0, None, 1, False  # dense: key is numbered 0..bound-1, bound exact
    for i, column in enumerate(columns):
        size = len(column.cells)
        if key is not None and bound * size > limit:
            if not dense:
                key, bound = _dense(key)  # the number of distinct combinations so far, exactly
                dense = True
            if bound * size > limit:
                wider, wider_bound = _dense(key * size + column.codes)
                if wider_bound > limit:  # this column starts a new run
                    out.append(_run(columns[start:i], key, bound, dense))
                    start, key, bound = i, None, 1
                else:
                    key, bound, dense = wider, wider_bound, True
                    continue
        key = column.codes if key is None else key * size + column.codes
        bound *= size
        dense = False
    out.append(_run(columns[start:], key, bound, dense))
    return out


def _combined(columns: list[_Coded]) -> tuple[np.ndarray, int]:
    """Each row's combination of the columns' cells numbered 0..n-1, and n."""
    key, bound = columns[0].codes, len(columns[0].cells)
    for column in columns[1:]:
        size = len(column.cells)
        if bound * size >= 2**62:  # renumbered before the key could overflow
            key, bound = _dense(key)
        key, bound = key * size + column.codes, bound * size
    return _dense(key) if bound > 1 else (key, 1)


def _dense(key: np.ndarray) -> tuple[np.ndarray, int]:
    """``key`` renumbered 0..n-1 over its n distinct values, and n."""
    encoded = pc.dictionary_encode(pa.array(key))
    return encoded.indices.to_numpy().astype(np.int64), len(encoded.dictionary)


def _run(columns: list[_Coded], key: np.ndarray, bound: int, dense: bool = False) -> str | _Coded:
    """One run of coded columns (combined row keys ``key`` < ``bound``, numbered 0..bound-1 if ``dense``):
    its distinct combinations."""
    if len(columns) == 1:
        run = columns[0]
    else:
        key, count = (key, bound) if dense or bound == 1 else _dense(key)
        sample = np.empty(count, dtype=np.int64)
        sample[key] = np.arange(len(key))  # one row of each combination (any one: they are the same)
        combos = np.stack([c.codes[sample] for c in columns], axis=1).tolist()
        cells = [c.cells for c in columns]
        run = _Coded(key, ["".join([cell[i] for cell, i in zip(cells, combo)]) for combo in combos])
    return run.cells[0] if len(run.cells) == 1 else run


@dataclass
class _Taken:
    """A run ready for the row join: its distinct cells (neighbouring constants included), each row's index."""

    cells: pa.Array
    key: pa.Array


def _absorbed(parts: list[str | pa.Array | _Coded]) -> list[str | pa.Array | _Taken]:
    """``parts`` (constants merged) with each run's neighbouring constants joined into its few distinct
    cells: the row join copies every part of every row, the constants included, so a constant absorbed
    costs a join over the distinct cells only."""
    out: list[str | pa.Array | _Taken] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        if isinstance(part, _Coded):
            head = out.pop() if out and isinstance(out[-1], str) else ""
            tail = parts[i + 1] if i + 1 < len(parts) and isinstance(parts[i + 1], str) else ""
            i += 1 if tail else 0
            part = _Taken(pa.array([head + c + tail for c in part.cells], pa.large_string()), pa.array(part.codes))
        out.append(part)
        i += 1
    return out


def _rows_of(part: str | pa.Array | _Taken, start: int, stop: int) -> str | pa.Array:
    """Rows ``start:stop`` of one part of the row join (a run's cells taken row by row)."""
    if isinstance(part, str):
        return part
    if isinstance(part, _Taken):
        return pc.take(part.cells, part.key.slice(start, stop - start))
    return part.slice(start, stop - start)


def _parts(head: str, body: pa.Array, tail: str) -> list[str | pa.Array]:
    """Cells ``head + body + tail`` as parts of the row join, ``<c/>`` where ``body`` is missing."""
    if not body.null_count:
        return [head, body, tail]
    if body.null_count == len(body):  # no value in this slice (a point input's areas): one constant part
        return ["<c/>"]
    return [pc.fill_null(_join(head, body, tail), pa.scalar("<c/>", pa.large_string()))]


def _merged(parts: list[str | pa.Array | _Coded]) -> list[str | pa.Array | _Coded]:
    """``parts`` with neighbouring constant strings joined (fewer arguments to the row join)."""
    out: list[str | pa.Array | _Coded] = []
    for part in parts:
        if isinstance(part, str) and out and isinstance(out[-1], str):
            out[-1] += part
        else:
            out.append(part)
    return out


def _one_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A table column as one array (dictionary chunks unified first)."""
    if not isinstance(values, pa.ChunkedArray):
        return values
    if values.num_chunks == 1:
        return values.chunk(0)
    if pa.types.is_dictionary(values.type):
        values = values.unify_dictionaries()
    return values.combine_chunks()


@dataclass
class _Sheet:
    name: str
    columns: list[str]
    widths: list[float]
    path: Path | None  # None: streamed straight into the archive
    rows: int = 0
    handle: object = None


@dataclass
class XlsxWriter:
    """Stream Arrow tables (or DataFrames) into sheets of one workbook: ``add_sheet``, ``append`` (repeatedly), ``close``."""

    path: Path
    sheets: list[_Sheet] = field(default_factory=list)

    def __post_init__(self):
        self.path = Path(self.path)
        self._tmp = tempfile.TemporaryDirectory(dir=self.path.parent, prefix=".xlsx-")
        # zlib level 2 for the small parts (the worksheets: ISA-L, see _open_member)
        self._zip = zipfile.ZipFile(self.path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=2)
        self._strings = SharedStrings()

    def add_sheet(
        self,
        name: str,
        columns: list[str],
        header: list[str] | None = None,
        widths: list[float] | None = None,
    ) -> str:
        """Start a sheet with a header row; returns its (possibly shortened/deduplicated) name."""
        safe = "".join(ch for ch in name if ch not in "[]:*?/\\")[:31] or "Sheet"
        taken = {s.name for s in self.sheets}
        base, k = safe, 2
        while safe in taken:
            safe = f"{base[:28]}_{k}"
            k += 1
        first = not self.sheets
        sheet = _Sheet(
            name=safe,
            columns=list(columns),
            widths=list(widths or [12] * len(columns)),
            path=None if first else Path(self._tmp.name) / f"sheet{len(self.sheets) + 1}.xml",
        )
        if first:  # the big sheet: compressed as it is written, no second pass over the XML
            sheet.handle = self._open_member("xl/worksheets/sheet1.xml")
            sheet.handle.write(self._sheet_head(sheet).encode("utf-8"))
        else:
            sheet.handle = open(sheet.path, "wb")  # noqa: SIM115 - stays open across append() calls
        self.sheets.append(sheet)
        labels = [escape(str(h)) for h in (header or columns)]
        cells = "".join(
            f'<c r="{column_letter(i)}1" s="1" t="inlineStr"><is><t xml:space="preserve">{t}</t></is></c>'
            for i, t in enumerate(labels)
        )
        sheet.handle.write(('<row r="1">' + cells + "</row>\n").encode("utf-8"))
        sheet.rows = 1
        return safe

    def append(self, name: str, frame: pa.Table | pd.DataFrame) -> None:
        """Append rows to sheet ``name`` (columns as declared), rolling over at Excel's row limit.

        ``frame``: an Arrow table (text as large_string or dictionaries, numbers, booleans) or a pandas frame.
        """
        sheet = next(s for s in self.sheets if s.name == name)
        frame = _arrow_table(frame[sheet.columns]) if isinstance(frame, pd.DataFrame) else frame.select(sheet.columns)
        while len(frame):
            room = MAX_ROWS - sheet.rows
            if room <= 0:
                header = [c for c in sheet.columns]
                new = self.add_sheet(f"{name}_续", sheet.columns, header, sheet.widths)
                sheet = next(s for s in self.sheets if s.name == new)
                name = new
                continue
            rows = min(room, BLOCK_ROWS)
            part, frame = frame.slice(0, rows), frame.slice(rows)
            self._write_rows(sheet, part)

    def _write_rows(self, sheet: _Sheet, frame: pa.Table) -> None:
        # each column's cells built once for the block (BLOCK_ROWS), the rows' XML joined in slices
        n = len(frame)
        rownums = pc.cast(pa.array(np.arange(sheet.rows + 1, sheet.rows + 1 + n, dtype=np.int64)), pa.large_string())
        parts: list[str | pa.Array | _Coded] = ['<row r="', rownums, '">']
        coded: list[_Coded] = []  # neighbouring coded columns, joined when a part of another kind comes
        for col in sheet.columns:
            cells = _cells(frame.column(col), self._strings)
            if isinstance(cells, _Coded):
                coded.append(cells)
                continue
            if coded:
                parts += _coded_parts(coded, n)
                coded = []
            parts += cells
        if coded:
            parts += _coded_parts(coded, n)
        parts = _absorbed(_merged([*parts, "</row>\n"]))
        for start in range(0, n, SLICE_ROWS):
            stop = min(start + SLICE_ROWS, n)
            # one pass over the rows' bytes: every column's values and constants joined at once
            rows = _join(*(_rows_of(part, start, stop) for part in parts))
            sheet.handle.write(_buffer(rows))  # the Arrow data buffer as is: no Python string per row
        sheet.rows += n

    def close(self) -> Path:
        """Finish the workbook at ``path`` and remove the temporary sheet files."""
        z = self._zip
        try:
            for sheet in self.sheets:
                if sheet.path is None:
                    sheet.handle.write(self._sheet_tail(sheet).encode("utf-8"))
                sheet.handle.close()
            for i, sheet in enumerate(self.sheets, start=1):
                if sheet.path is None:
                    continue
                with self._open_member(f"xl/worksheets/sheet{i}.xml") as out:
                    out.write(self._sheet_head(sheet).encode("utf-8"))
                    with open(sheet.path, "rb") as body:
                        while chunk := body.read(1 << 22):
                            out.write(chunk)
                    out.write(self._sheet_tail(sheet).encode("utf-8"))
            z.writestr("[Content_Types].xml", self._content_types())
            z.writestr(
                "_rels/.rels",
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" Type="{_REL_NS}/officeDocument" '
                'Target="xl/workbook.xml"/></Relationships>',
            )
            z.writestr("xl/workbook.xml", self._workbook())
            z.writestr("xl/_rels/workbook.xml.rels", self._workbook_rels())
            z.writestr("xl/styles.xml", _STYLES)
            z.writestr("xl/sharedStrings.xml", self._strings.xml())
            z.close()
        finally:
            self._tmp.cleanup()
        return self.path

    def _open_member(self, name: str):
        """A member of the archive open for writing, deflated by ISA-L rather than zlib."""
        handle = self._zip.open(name, "w", force_zip64=True)
        # zipfile has no hook for another deflate implementation: its writer's compressor (a zlib
        # compressobj; raw deflate, as ISA-L's) is swapped before the first byte. Where the private
        # attribute is missing (another Python), zlib stays: the same file, written slower.
        if getattr(handle, "_compressor", None) is not None:
            handle._compressor = isal_zlib.compressobj(DEFLATE_LEVEL, isal_zlib.DEFLATED, -15)
        return handle

    def abort(self) -> None:
        """Discard everything (used when a run fails)."""
        for sheet in self.sheets:
            if sheet.handle and not sheet.handle.closed:
                try:
                    sheet.handle.close()
                except (OSError, ValueError):
                    pass
        try:
            self._zip.close()
        except (OSError, ValueError):
            pass
        self._tmp.cleanup()
        if self.path.exists():
            os.remove(self.path)

    def _content_types(self) -> str:
        sheets = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(1, len(self.sheets) + 1)
        )
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            f"{sheets}</Types>"
        )

    def _workbook(self) -> str:
        sheets = "".join(
            f'<sheet name="{escape(s.name, {chr(34): "&quot;"})}" sheetId="{i}" r:id="rId{i}"/>'
            for i, s in enumerate(self.sheets, start=1)
        )
        names = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
            f"{escape(self._quoted(s.name))}!$A$1:${column_letter(max(len(s.columns) - 1, 0))}${max(s.rows, 1)}</definedName>"
            for i, s in enumerate(self.sheets)
            if s.columns
        )
        return (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_NS}" xmlns:r="{_REL_NS}">'
            f"<bookViews><workbookView/></bookViews><sheets>{sheets}</sheets>"
            f"{'<definedNames>' + names + '</definedNames>' if names else ''}</workbook>"
        )

    @staticmethod
    def _quoted(name: str) -> str:
        return "'" + name.replace("'", "''") + "'"

    def _workbook_rels(self) -> str:
        rels = "".join(
            f'<Relationship Id="rId{i}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(self.sheets) + 1)
        )
        n = len(self.sheets)
        styles = (
            f'<Relationship Id="rId{n + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId{n + 2}" Type="{_REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
        )
        return (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{_PKG_REL}">{rels}{styles}</Relationships>'
        )

    def _sheet_head(self, sheet: _Sheet) -> str:
        last = column_letter(max(len(sheet.columns) - 1, 0))
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{w:.1f}" customWidth="1"/>'
            for i, w in enumerate(sheet.widths, start=1)
        )
        return (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_NS}" xmlns:r="{_REL_NS}">'
            # a streamed sheet's size is not known when its head is written (the element is optional)
            f'{"" if sheet.path is None else f"<dimension ref={chr(34)}A1:{last}{max(sheet.rows, 1)}{chr(34)}/>"}'
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
            'state="frozen"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            f"{'<cols>' + cols + '</cols>' if cols else ''}<sheetData>\n"
        )

    @staticmethod
    def _sheet_tail(sheet: _Sheet) -> str:
        last = column_letter(max(len(sheet.columns) - 1, 0))
        return f'</sheetData><autoFilter ref="A1:{last}{max(sheet.rows, 1)}"/></worksheet>'
