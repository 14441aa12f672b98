"""The site check's result columns, in one place: names, order, dtypes and display names.

A result row is ``row_id``, the input's own columns, then :data:`CORE` (where the site is and what
it measures), the nearest infrastructure of each kind (``nearest_<kind>``, ``dist_<kind>_m``),
then :data:`TAIL` (what the rules say), then ``geometry`` (EPSG:4326). Display names (Chinese
header, English description) live in :data:`wuzhong_geo.style.CHECK_COLUMN_LABELS`.

To add a column: add a :class:`Column` to ``CORE`` or ``TAIL`` where it should appear, its
labels to ``style.CHECK_COLUMN_LABELS``, and the function that fills it to ``locate.COLUMN_STEPS``
or ``measure.COLUMN_STEPS`` (see docs/DEVELOPING.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from wuzhong_geo.style import CHECK_COLUMN_LABELS, INFRASTRUCTURE_KINDS

Kind = Literal["text", "float", "bool", "int"]


@dataclass(frozen=True)
class Column:
    """A result column: its name, the kind of values it holds (text, float, bool, int), and whether
    its floats are whole numbers (distances in whole metres, written as integers in CSV and XLSX)."""

    name: str
    kind: Kind = "text"
    whole: bool = False


LEAD = (Column("row_id", "int"),)
CORE = (
    Column("status"),
    Column("message"),
    Column("code"),
    Column("name"),
    Column("management_zone"),
    Column("functional_zone"),
    Column("subregion"),
    Column("functional_zones"),
    Column("zone_breakdown"),
    Column("towns"),
    Column("geometry_type"),
    Column("area_m2", "float"),
    Column("area_ha", "float"),
    Column("area_mu", "float"),
    Column("length_m", "float"),
    Column("land_share", "float"),
    Column("taihu_share", "float"),
    Column("taihu_shore_m", "float", whole=True),
    Column("district_distance_m", "float", whole=True),
    Column("town_boundary_distance_m", "float", whole=True),
    Column("town_confidence"),
    Column("town_alternative"),
    Column("zone_line_distance_m", "float", whole=True),
    Column("zone_confidence"),
    Column("zone_alternative"),
)
TAIL = (
    Column("rule_category"),
    Column("input_town_code"),
    Column("town_match", "bool"),
    Column("crosses_zone_boundary", "bool"),
    Column("crosses_town_boundary", "bool"),
    Column("coordinates_swapped", "bool"),
    Column("flags"),
    Column("flag_level"),
    Column("flag_notes"),
    Column("policies"),
    Column("plan_basis"),
    Column("wgs84_lon", "float"),
    Column("wgs84_lat", "float"),
)
#: Columns of the long per-site, per-town, per-zone table of polygons/lines/buffers.
ZONE_PART_COLUMNS = (
    "row_id",
    "site_name",
    "code",
    "name",
    "functional_zone",
    "area_m2",
    "area_ha",
    "area_mu",
    "length_m",
    "share",
)

_KINDS: dict[str, Kind] = {c.name: c.kind for c in (*LEAD, *CORE, *TAIL)}
_WHOLE = frozenset(c.name for c in (*LEAD, *CORE, *TAIL) if c.whole)
#: Distances are rounded to whole metres: the schematic lines they are measured to are good to
#: hundreds of metres (``uncertainty``), so decimetres would be false precision.
DISTANCE_DIGITS = 0


def infrastructure_columns(kinds) -> list[str]:
    """``nearest_<kind>``, ``dist_<kind>_m`` for each infrastructure kind, in order."""
    return [c for kind in kinds for c in (f"nearest_{kind}", f"dist_{kind}_m")]


def _is_infrastructure_distance(column: str) -> bool:
    return column.startswith("dist_") and column.endswith("_m") and column[5:-2] in INFRASTRUCTURE_KINDS


def kind_of(column: str) -> Kind:
    """The value kind of a result column (``dist_*_m`` are floats; unknown columns are text)."""
    if _is_infrastructure_distance(column):
        return "float"
    return _KINDS.get(column, "text")


def is_whole(column: str) -> bool:
    """Whether a result column holds whole numbers in floats (distances in metres, ``dist_*_m`` included)."""
    return column in _WHOLE or _is_infrastructure_distance(column)


def result_columns(input_columns, kinds) -> list[str]:
    """The result columns in order: row_id, the input's own, core, infrastructure, tail, geometry."""
    lead = [c.name for c in LEAD]
    own = [c for c in input_columns if c not in lead]
    return [
        *lead,
        *own,
        *(c.name for c in CORE),
        *infrastructure_columns(kinds),
        *(c.name for c in TAIL),
        "geometry",
    ]


def result_column_names() -> list[str]:
    """Every column a result can have (any infrastructure kind): input columns must not clash."""
    return result_columns([], INFRASTRUCTURE_KINDS)


def enforce_dtype(column: str, values: pd.Series) -> pd.Series:
    """A known result column cast to its kind (floats, nullable booleans); other columns as they are."""
    kind = kind_of(column)
    if kind == "float" and values.dtype != np.float64:
        return values.astype(float)
    if kind == "bool" and values.dtype != "boolean":
        return values.astype("boolean")
    return values


def label(column: str) -> tuple[str, str]:
    """(Chinese header, English description) of a result column; input columns keep their name."""
    if column in CHECK_COLUMN_LABELS:
        return CHECK_COLUMN_LABELS[column]
    if column.startswith("nearest_"):
        kind = column[len("nearest_") :]
        return (f"最近{INFRASTRUCTURE_KINDS.get(kind, (kind,))[0]}", f"Nearest {kind} (name)")
    if column.startswith("dist_") and column.endswith("_m"):
        kind = column[len("dist_") : -2]
        return (
            f"距{INFRASTRUCTURE_KINDS.get(kind, (kind,))[0]}（米）",
            f"Distance to the nearest {kind}, m",
        )
    return (column, "input column")


def format_numbers(values: np.ndarray, digits: int) -> np.ndarray:
    """Format floats with thousands separators, vectorised ('' for NaN): text of messages."""
    series = pd.Series(values, dtype=float)
    rounded = series.round(digits)
    text = rounded.map(f"{{:,.{digits}f}}".format, na_action="ignore")
    return text.astype(object).fillna("").to_numpy(dtype=object)


def repeated_text(labels, codes: np.ndarray) -> pd.Categorical:
    """``labels[codes]`` as a categorical: text with few distinct values over many rows.

    Missing where the code is -1 or the label is None. Equal labels share one category and the
    categories are sorted, so chunks of the same values get the same categories; broadcasting
    costs one small integer per row instead of one string.
    """
    return TextLabels(labels).take(codes)


class TextLabels:
    """Labels prepared once for :func:`repeated_text` (e.g. the names of a layer's features)."""

    def __init__(self, labels) -> None:
        labels = np.asarray(labels, dtype=object)
        present = np.flatnonzero(pd.notna(labels))
        categories = np.array(sorted(set(labels[present])), dtype=object)
        self.remap = np.full(len(labels) + 1, -1, dtype=np.int64)  # the last: a code of -1 stays missing
        self.remap[present] = np.searchsorted(categories, labels[present])
        self.dtype = pd.CategoricalDtype(pd.Index(categories, dtype="str"))

    def take(self, codes: np.ndarray) -> pd.Categorical:
        """``labels[codes]`` as a categorical (see :func:`repeated_text`)."""
        return pd.Categorical.from_codes(self.remap[np.asarray(codes, dtype=np.int64)], dtype=self.dtype)
