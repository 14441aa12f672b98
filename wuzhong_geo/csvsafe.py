"""Formula-safe CSV: every CSV the toolkit writes goes through here (OWASP CSV injection).

Spreadsheets run a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return as a
formula (``=HYPERLINK(...)``, DDE payloads). Such text cells get a leading ``'``, which Excel and
LibreOffice show as plain text. Numeric columns are left alone, and so is text that is just a
number (``-12.5``), so values stay numeric when the file is opened.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

#: Characters that make a spreadsheet treat a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
#: The encoding of every CSV written: UTF-8 with a BOM so Excel detects it.
CSV_ENCODING = "utf-8-sig"


def safe_cell(value: object) -> object:
    """Return ``value`` with a leading ``'`` if it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def _risky(values: pd.Series) -> pd.Series:
    text = values.astype("string")
    starts = text.str.startswith(FORMULA_START).fillna(False).astype(bool)
    if not starts.any():
        return starts
    numeric = text.str.fullmatch(_NUMBER.pattern).fillna(False).astype(bool)
    risky = starts & ~numeric
    if values.dtype == object:  # only real text: a number in an object column is not a formula
        risky &= values.map(lambda v: isinstance(v, str)).astype(bool)
    return risky


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` whose text cells and column names cannot start a formula."""
    out = frame.copy()
    for col in out.columns:
        dtype = out[col].dtype
        if not (dtype == object or isinstance(dtype, (pd.StringDtype, pd.CategoricalDtype))
                or pd.api.types.is_string_dtype(dtype)):
            continue
        values = out[col].astype(object) if isinstance(dtype, pd.CategoricalDtype) else out[col]
        risky = _risky(values)
        if risky.any():
            values = values.astype(object).copy()
            values[risky] = "'" + values[risky].astype(str)
            out[col] = values
    out.columns = [safe_cell(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out


#: RE2 (Arrow) forms of the two patterns: a formula start, and a whole cell that is just a number.
_FORMULA_RE2 = r"^[=+\-@\t\r]"
_NUMBER_RE2 = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"


def safe_text_array(arr):
    """Formula-safe copy of an Arrow string array (``'`` before risky cells), vectorised in Arrow.

    Dictionary arrays (pandas categoricals) are handled on their distinct values only.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        return pa.chunked_array([safe_text_array(c) for c in arr.chunks], type=arr.type)
    if pa.types.is_dictionary(arr.type):
        return pa.DictionaryArray.from_arrays(arr.indices, safe_text_array(arr.dictionary))
    if not _may_start_formula(arr):
        return arr
    starts = pc.match_substring_regex(arr, _FORMULA_RE2)
    if not pc.any(starts).as_py():
        return arr
    risky = pc.and_kleene(starts, pc.invert(pc.match_substring_regex(arr, _NUMBER_RE2)))
    quoted = pc.binary_join_element_wise(pa.scalar("'", arr.type), arr, pa.scalar("", arr.type))
    return pc.if_else(risky, quoted, arr)


#: The first bytes of :data:`FORMULA_START` (all ASCII: in UTF-8 a cell's first byte is its first character's).
_FORMULA_BYTES = np.frombuffer("".join(FORMULA_START).encode("ascii"), dtype=np.uint8)


def _may_start_formula(arr) -> bool:
    """False when no cell of a (large_)string array starts with a formula character: a look at each
    cell's first byte in numpy, much cheaper than the regex (which then runs only when it may match)."""
    import pyarrow as pa

    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)) or not len(arr):
        return bool(len(arr))
    _, offsets, data = arr.buffers()
    if data is None:  # every cell empty or missing
        return False
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(offsets, dtype=width)[arr.offset : arr.offset + len(arr) + 1]
    starts = offsets[:-1][offsets[1:] > offsets[:-1]]  # cells with text (a missing cell has none)
    return bool(np.isin(np.frombuffer(data, dtype=np.uint8)[starts], _FORMULA_BYTES).any())


def safe_table(table):
    """Formula-safe copy of an Arrow table: its text columns (see :func:`safe_text_array`) and names.

    Numeric columns are left alone, so numbers stay numbers in a spreadsheet.
    """
    import pyarrow as pa

    columns = []
    for col in table.columns:
        if col.type == getattr(pa, "string_view", lambda: None)():
            col = col.cast(pa.large_string())
        kind = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
        is_text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
        columns.append(safe_text_array(col) if is_text else col)
    names = [safe_cell(n) for n in table.column_names]
    return pa.Table.from_arrays(columns, names=names)


def write_csv(frame: pd.DataFrame, path: str | Path, **kwargs) -> Path:
    """Write ``frame`` as a formula-safe UTF-8 (BOM) CSV without the index; return the path."""
    path = Path(path)
    kwargs.setdefault("index", False)
    kwargs.setdefault("encoding", CSV_ENCODING)
    safe = safe_frame(frame)
    if _has_carriage_return(safe):
        # csv quotes a field only for characters of the line terminator: a lone CR would split the row
        kwargs["lineterminator"] = "\r\n"
    safe.to_csv(path, **kwargs)
    return path


def _has_carriage_return(frame: pd.DataFrame) -> bool:
    for col in frame.columns:
        if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col].dtype):
            if frame[col].map(lambda v: isinstance(v, str) and "\r" in v).any():
                return True
    return any(isinstance(c, str) and "\r" in c for c in frame.columns)
