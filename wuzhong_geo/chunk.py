"""One chunk of sites prepared for the check: geometry kinds, representative points, EPSG:4549.

:class:`Chunk` is what the locate, measure and judge steps (and any column step added to them)
receive: the sites as read, their geometries in EPSG:4326 and EPSG:4549, a representative point
of each, and ``out``, the result columns filled so far (:class:`Columns`: one array per column,
in site order; the frame is built once, by :func:`wuzhong_geo.check.assemble`).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from wuzhong_geo.columns import CORE, TAIL, kind_of
from wuzhong_geo.coords import transformer
from wuzhong_geo.inputs import InputInfo
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS


class Columns(dict):
    """The result columns of a chunk so far: name -> array, one value per site, in order.

    Text is kept as object arrays (or categoricals) while the steps work, and turned into its
    final dtype once, by :meth:`series`. Assigning a whole object array of text (``out[c] = a``)
    gives the column the dtype pandas infers for it (``str`` when it holds any text, else
    object), as assigning it to a DataFrame column would; writing into rows of a column
    (``out[c][rows] = v``) keeps its dtype. A scalar is repeated; a Series gives its values.
    """

    def __init__(self, index: pd.Index, columns) -> None:
        super().__init__()
        self.index = index
        self.text: dict[str, str] = {}  # text column -> its final dtype, "str" or "object"
        n = len(index)
        for col in columns:
            kind = kind_of(col)
            if kind == "float":
                dict.__setitem__(self, col, np.full(n, np.nan))
            elif kind == "bool":
                dict.__setitem__(
                    self, col, pd.arrays.BooleanArray(np.zeros(n, bool), np.ones(n, bool))
                )
            else:
                dict.__setitem__(self, col, np.full(n, None, dtype=object))
                self.text[col] = "object"

    def __setitem__(self, col: str, value) -> None:
        n = len(self.index)
        if isinstance(value, pd.Series):
            value = value.array if isinstance(value.dtype, pd.api.extensions.ExtensionDtype) else value.to_numpy()
            if isinstance(value, pd.arrays.NumpyExtensionArray):
                value = value.to_numpy()
        if np.ndim(value) == 0 and not isinstance(value, pd.api.extensions.ExtensionArray):
            kind = kind_of(col)
            dtype = float if kind == "float" else object
            value = np.full(n, value, dtype=dtype)
        if len(value) != n:
            raise ValueError(f"column {col!r} has {len(value)} values for {n} sites")
        if isinstance(value, np.ndarray) and value.dtype == object:
            # what pandas infers when the array is assigned to a frame column
            self.text[col] = "str" if _holds_text(value) else "object"
        else:
            self.text.pop(col, None)
        dict.__setitem__(self, col, value)

    def set_text(self, col: str, values: pd.Categorical) -> None:
        """A text column held as a categorical, with the dtype the same values as objects would get."""
        self[col] = values
        self.text[col] = "str" if (values.codes >= 0).any() else "object"

    def read(self, col: str) -> np.ndarray:
        """A copy of a column as objects, missing text as the frame column would give it (NaN in ``str``)."""
        value = self[col]
        missing = np.nan if self.text.get(col) == "str" else None
        if isinstance(value, pd.Categorical):  # by code: no conversion per row
            return np.append(np.asarray(value.categories, dtype=object), missing)[value.codes]
        value = np.array(value, dtype=object)
        if missing is not None:
            value[pd.isna(value)] = missing
        return value

    def series(self, col: str, raw: bool = False) -> pd.Series:
        """One column as a Series of its final dtype (``raw``: text as objects), indexed like the sites."""
        value = self[col]
        kind = self.text.get(col)
        if kind == "str" and not raw:
            # text repeats: encode each distinct value once, then broadcast (as inferring would give)
            if isinstance(value, pd.Categorical):
                codes, labels = value.codes, value.categories
            else:
                codes, labels = pd.factorize(value, use_na_sentinel=True)
            value = pd.array(np.asarray(labels, dtype=object), dtype="str").take(codes, allow_fill=True)
        elif kind == "object" and isinstance(value, pd.Categorical):
            value = np.asarray(value, dtype=object)
            value[pd.isna(value)] = None  # as the object array it stands for holds them
            return pd.Series(value, index=self.index, dtype=object)
        elif kind == "object" or (isinstance(value, np.ndarray) and value.dtype == object):
            return pd.Series(value, index=self.index, dtype=object, copy=False)
        return pd.Series(value, index=self.index, copy=False)

    def frame(self, columns=None, raw: bool = False) -> pd.DataFrame:
        """The columns (default: all) as a DataFrame of their final dtypes (``raw``: text as objects)."""
        names = list(self) if columns is None else list(columns)
        return pd.DataFrame({c: self.series(c, raw) for c in names}, index=self.index, copy=False)


def _holds_text(values: np.ndarray) -> bool:
    """Whether pandas infers its string dtype for an object array: some text, the rest missing."""
    return pd.api.types.infer_dtype(values, skipna=True) == "string"


@dataclass
class Chunk:
    """Sites of one chunk and what the steps have found so far.

    Arrays have one entry per site, in order. ``geoms`` are EPSG:4326 (collections reduced to
    their highest dimension); ``analysis`` the same in EPSG:4549 (buffered points as polygons
    when the run buffers), ``None`` where a site has no geometry; ``lon``/``lat`` a representative
    point in EPSG:4326 (the point itself, a multipoint's centroid, a point on the surface of a
    line or polygon) and ``x``/``y`` that point in EPSG:4549 for plain points (NaN otherwise).
    """

    sites: gpd.GeoDataFrame
    info: InputInfo  # column roles: name_col, category_col, town_col
    geoms: np.ndarray
    analysis: np.ndarray
    kind: np.ndarray  # point | line | polygon | '' (no geometry)
    has_geom: np.ndarray
    plain: np.ndarray  # a single Point: classified and measured without geometry work
    buffered: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    x: np.ndarray
    y: np.ndarray
    out: Columns
    #: Set by locate: the status the geometry gives (before bad input overrides it), the final
    #: status, which rows are located in a town, and every town code / management zone touched.
    analysed: np.ndarray | None = None
    status: np.ndarray | None = None
    analysed_codes: pd.Categorical | None = None  # the same two as categoricals (fast to group)
    status_codes: pd.Categorical | None = None
    located: np.ndarray | None = None
    town_codes: pd.Series | None = None
    management_zones: pd.Series | None = None

    @property
    def index(self) -> pd.Index:
        """The sites' index: a column step returns a frame with this index."""
        return self.sites.index

    def __len__(self) -> int:
        return len(self.sites)

    def add(self, frame: pd.DataFrame) -> None:
        """Put the columns a column step returned into ``out`` (the frame must share the index)."""
        if not frame.index.equals(self.index):
            raise ValueError("a column step must return a frame indexed like chunk.index")
        for col in frame.columns:
            self.out[col] = frame[col]


#: Geometry kinds by dimension + 1 (0: no geometry).
KINDS = ("", "point", "line", "polygon")


def geometry_kind(geoms: np.ndarray) -> pd.Categorical:
    """point | line | polygon | '' (none) per geometry; collections by their highest dimension."""
    dim = shapely.get_dimensions(geoms)  # -1 where there is no geometry
    return pd.Categorical.from_codes(
        np.where(shapely.is_geometry(geoms), dim + 1, 0),
        dtype=pd.CategoricalDtype(pd.Index(KINDS, dtype="str")),
    )


def _highest_dimension(geoms: np.ndarray, kind: np.ndarray, type_id: np.ndarray) -> np.ndarray:
    """Drop lower-dimensional parts of collections (make_valid can leave stray lines/points)."""
    coll = type_id == 7
    if not coll.any():
        return geoms
    geoms = geoms.copy()
    idx = np.flatnonzero(coll)
    parts, owner = shapely.get_parts(geoms[idx], return_index=True)
    want = np.array([{"point": 0, "line": 1, "polygon": 2}[k] for k in kind[idx]])[owner]
    keep = shapely.get_dimensions(parts) == want
    for pos in np.unique(owner):  # few rows: only repaired polygons produce collections
        geoms[idx[pos]] = shapely.union_all(parts[(owner == pos) & keep])
    return geoms


def to_analysis(geoms: np.ndarray) -> np.ndarray:
    """EPSG:4326 geometries to EPSG:4549."""
    tr = transformer(STORAGE_CRS, ANALYSIS_CRS)
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def to_storage(geoms: np.ndarray) -> np.ndarray:
    """EPSG:4549 geometries to EPSG:4326."""
    tr = transformer(ANALYSIS_CRS, STORAGE_CRS)
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def prepare_chunk(sites: gpd.GeoDataFrame, info: InputInfo, buffer_m: float | None = None) -> Chunk:
    """Kinds, representative points and EPSG:4549 geometries of a chunk of sites (from inputs)."""
    n = len(sites)
    geoms = np.asarray(sites.geometry.values.to_numpy(), dtype=object)
    # None (or NaN) is no geometry: ~pd.isna's answer, without its checks object by object
    has_geom = shapely.is_geometry(geoms)
    has_geom[has_geom] = ~shapely.is_empty(geoms[has_geom])  # POINT EMPTY has no x/y
    geoms = np.where(has_geom, geoms, None)
    kinds = geometry_kind(geoms)
    kind = np.asarray(KINDS, dtype=object)[kinds.codes]
    type_id = shapely.get_type_id(geoms)
    geoms = _highest_dimension(geoms, kind, type_id)
    if (type_id == 7).any():  # collections were reduced to their parts: types changed
        type_id = shapely.get_type_id(geoms)
    is_point = kind == "point"
    plain = has_geom & (type_id == 0)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    lon[plain], lat[plain] = shapely.get_x(geoms[plain]), shapely.get_y(geoms[plain])
    rest = has_geom & ~plain
    rep = np.where(
        is_point[rest], shapely.centroid(geoms[rest]), shapely.point_on_surface(geoms[rest])
    )
    lon[rest], lat[rest] = shapely.get_x(rep), shapely.get_y(rep)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    x[plain], y[plain] = transformer(STORAGE_CRS, ANALYSIS_CRS).transform(lon[plain], lat[plain])
    analysis = np.full(n, None, dtype=object)
    analysis[rest] = to_analysis(geoms[rest])
    buffered = np.zeros(n, dtype=bool)
    if buffer_m:
        buffered = has_geom & is_point
        analysis[plain] = shapely.points(x[plain], y[plain])
        analysis[buffered] = shapely.buffer(analysis[buffered], buffer_m, quad_segs=16)
    out = Columns(sites.index, [c.name for c in (*CORE, *TAIL)])
    out.set_text("geometry_type", kinds)
    out["wgs84_lon"], out["wgs84_lat"] = np.round(lon, 7), np.round(lat, 7)
    return Chunk(
        sites=sites,
        info=info,
        geoms=geoms,
        analysis=analysis,
        kind=kind,
        has_geom=has_geom,
        plain=plain,
        buffered=buffered,
        lon=lon,
        lat=lat,
        x=x,
        y=y,
        out=out,
    )
