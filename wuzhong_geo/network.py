"""Street networks from OpenStreetMap (osmnx): a local cache, shortest paths and service areas.

The cache (``wuzhong-geo osm fetch`` online, ``wuzhong-geo osm import FILE.osm`` offline) is a
folder with ``walk.graphml`` and ``drive.graphml`` (osmnx GraphML, EPSG:4326),
``features.gpkg`` (one layer per category of :data:`FEATURE_TAGS`) and ``metadata.json``
(date, source, "© OpenStreetMap contributors, ODbL").

Conventions, stated once:

- Edge ``length`` is the geodesic length on the WGS84 ellipsoid (pyproj.Geod) along the edge's
  geometry, replacing osmnx's great-circle value (a sphere) so lengths match the ellipsoid.
- Walking is 4.8 km/h on every walkable way, both directions. Driving uses each edge's
  ``speed_kph``: OSM ``maxspeed`` where tagged, else :data:`DRIVE_SPEEDS_KMH` by highway class
  (else :data:`DRIVE_FALLBACK_KMH`); one-way streets are honoured.
- A facility joins the network at the nearest point of the nearest edge; that straight-line
  distance is walked at 4.8 km/h and counts against the time budget (facilities more than
  ``max_snap_m`` away are left out); from there the edge is followed to its end nodes.
- Service-area times run *to* the facility (residents travelling to it); ``direction="from"``
  measures outward instead (they differ only on one-way streets).
- A service area is the set of nodes within the time budget plus the reachable part of every
  edge (an edge is cut where the budget runs out), buffered by ``buffer_m`` (default 50 m).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import json
import logging
import re
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod
from shapely.geometry import LineString, Point
from shapely.ops import substring

from wuzhong_geo import gpkg
from wuzhong_geo.errors import InputError
from wuzhong_geo.outdir import publish, staging
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS
from wuzhong_geo.vector import short_reason

log = logging.getLogger(__name__)

MODES = ("walk", "drive")
#: Walking speed (km/h) for network walking times and the walk buffer radius.
WALK_SPEED_KMH = 4.8
#: Free-flow driving speeds (km/h) by OSM highway class, used where ``maxspeed`` is missing
#: (urban design speeds of GB/CJJ 37 road classes, rounded down for junction delay).
DRIVE_SPEEDS_KMH: dict[str, float] = {
    "motorway": 100, "motorway_link": 50, "trunk": 80, "trunk_link": 40,
    "primary": 50, "primary_link": 30, "secondary": 40, "secondary_link": 30,
    "tertiary": 30, "tertiary_link": 25, "unclassified": 25, "residential": 25,
    "living_street": 10, "road": 25,
}
#: Driving speed (km/h) of a highway class not listed above and never tagged with maxspeed.
DRIVE_FALLBACK_KMH = 25.0
ATTRIBUTION = "© OpenStreetMap contributors, ODbL"
LICENSE_URL = "https://opendatacommons.org/licenses/odbl/1-0/"
#: OSM features cached with the graphs: category -> osmnx tags (a feature matches any tag).
FEATURE_TAGS: dict[str, dict[str, Any]] = {
    "rail": {"railway": ["rail", "light_rail", "narrow_gauge"]},
    "metro": {"railway": ["subway"], "station": ["subway"]},
    "major_roads": {"highway": ["motorway", "trunk", "primary", "secondary"]},
    "schools": {"amenity": ["school", "kindergarten", "college", "university"]},
    "hospitals": {"amenity": ["hospital", "clinic"], "healthcare": ["hospital", "clinic"]},
    "parks": {"leisure": ["park", "garden", "nature_reserve"]},
    "culture": {"amenity": ["library", "theatre", "arts_centre", "community_centre", "cinema"],
                "tourism": ["museum", "gallery"]},
    "fitness": {"leisure": ["sports_centre", "fitness_centre", "fitness_station", "stadium",
                            "pitch", "swimming_pool"]},
}
#: osmnx's way filters (Overpass syntax) for each mode, applied to ways read from an OSM file.
#: Copied from osmnx 2.1 (``_overpass._get_network_filter``) so offline imports select the
#: same ways as online fetches.
WAY_FILTERS = {
    "drive": (
        '["highway"]["area"!~"yes"]["access"!~"private"]'
        '["highway"!~"abandoned|bridleway|bus_guideway|construction|corridor|cycleway|elevator|'
        "escalator|footway|no|path|pedestrian|planned|platform|proposed|raceway|razed|rest_area|"
        'service|services|steps|track"]["motor_vehicle"!~"no"]["motorcar"!~"no"]'
        '["service"!~"alley|driveway|emergency_access|parking|parking_aisle|private"]'
    ),
    "walk": (
        '["highway"]["area"!~"yes"]["access"!~"private"]'
        '["highway"!~"abandoned|bus_guideway|construction|cycleway|motor|no|planned|platform|'
        'proposed|raceway|razed|rest_area|services"]["foot"!~"no"]["service"!~"private"]'
        '["sidewalk"!~"separate"]["sidewalk:both"!~"separate"]'
        '["sidewalk:left"!~"separate"]["sidewalk:right"!~"separate"]'
    ),
}
_GEOD = Geod(ellps="WGS84")


# --------------------------------------------------------------------------------------------
# Building the cache
# --------------------------------------------------------------------------------------------

def district_polygon(margin_m: float = 1000.0) -> shapely.Geometry:
    """Return the district (land and its Taihu waters, for the bridges) grown by ``margin_m``, EPSG:4326."""
    from wuzhong_geo import layers

    district = layers.district().to_crs(ANALYSIS_CRS).geometry.union_all().buffer(margin_m)
    return gpd.GeoSeries([district], crs=ANALYSIS_CRS).to_crs(STORAGE_CRS).iloc[0]


def fetch(
    out_dir: str | Path, *, modes: Iterable[str] = MODES, features: bool = True,
    polygon: shapely.Geometry | None = None,
) -> dict:
    """Download the walk/drive networks and features for the district with osmnx (needs internet)."""
    import osmnx as ox

    modes = _check_modes(modes)
    polygon = district_polygon() if polygon is None else polygon
    final = Path(out_dir)
    with staging(final) as out_dir:
        meta = _metadata(method="fetch", source="OpenStreetMap via the Overpass API (osmnx)")
        for mode in modes:
            # keep every component: a clipped extract may split the network, and each part still serves
            graph = ox.graph_from_polygon(polygon, network_type=mode, simplify=True, retain_all=True,
                                          truncate_by_edge=True)
            meta["graphs"][mode] = _save_graph(_finalise(graph, mode), out_dir, mode)
        if features:
            frame = ox.features_from_polygon(polygon, _all_tags())
            meta["features"] = _save_features(frame, out_dir)
        _write_metadata(out_dir, meta)
        publish(out_dir, final)
    return meta


def import_osm(
    path: str | Path, out_dir: str | Path, *, modes: Iterable[str] = MODES, features: bool = True,
    clip: bool = True,
) -> dict:
    """Build the same cache as :func:`fetch` from a local OSM XML file (offline).

    Ways are selected per mode with osmnx's own filters (:data:`WAY_FILTERS`); with ``clip``
    the network and features are cut to the district grown by 1 km.
    """
    import osmnx as ox

    path = Path(path)
    if not path.is_file():
        raise InputError(f"OSM file {path} not found")
    if not path.name.lower().endswith((".osm", ".xml", ".osm.bz2")):
        raise InputError(f"{path.name}: expected an OSM XML file (.osm or .osm.bz2); convert a .pbf with "
                         "`osmium cat in.osm.pbf -o out.osm`")
    modes = _check_modes(modes)
    polygon = district_polygon() if clip else None
    final = Path(out_dir)
    with staging(final) as out_dir:
        meta = _metadata(method="import", source=f"local OSM XML file {path.name}")
        meta["input_file"] = {"name": path.name, "sha256": _sha256(path), "bytes": path.stat().st_size,
                              "osm_header": _osm_header(path)}
        for mode in modes:
            with _way_tags_kept(_filter_keys(WAY_FILTERS[mode])):
                try:
                    graph = ox.graph_from_xml(path, bidirectional=mode in ox.settings.bidirectional_network_types,
                                              simplify=False, retain_all=True)
                except Exception as exc:  # osmnx raises plain errors on malformed or empty files
                    raise InputError(f"{path.name}: 不是有效的 OSM XML（{type(exc).__name__}: {short_reason(exc)}），"
                                     "请重新导出 / not valid OSM XML; export it again") from None
            graph = _select_ways(graph, WAY_FILTERS[mode])
            if polygon is not None and len(graph):
                try:
                    graph = ox.truncate.truncate_graph_polygon(graph, polygon, truncate_by_edge=True)
                except ValueError:  # osmnx: no nodes inside the polygon
                    graph = nx.MultiDiGraph(crs=STORAGE_CRS)
            if len(graph.edges) == 0:
                where = " in the district (use --no-clip for a file elsewhere)" if clip else ""
                raise InputError(f"{path.name} has no {mode} ways{where}")
            graph = ox.simplify_graph(graph)
            meta["graphs"][mode] = _save_graph(_finalise(graph, mode), out_dir, mode)
        if features:
            try:
                frame = ox.features_from_xml(path, polygon=polygon, tags=_all_tags())
            except Exception as exc:  # noqa: BLE001 osmnx raises InsufficientResponseError when nothing matches
                log.warning("no features in %s: %s", path.name, exc)
                frame = gpd.GeoDataFrame(geometry=[], crs=STORAGE_CRS)
            meta["features"] = _save_features(frame, out_dir)
        _write_metadata(out_dir, meta)
        publish(out_dir, final)
    return meta


def _check_modes(modes: Iterable[str]) -> tuple[str, ...]:
    modes = tuple(modes)
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise InputError(f"unknown mode(s) {', '.join(bad) or '(none)'}; choose from {', '.join(MODES)}")
    return modes


_TERM = re.compile(r'\["([^"]+)"(?:(!?~|!?=)"([^"]*)")?\]')


def _filter_keys(way_filter: str) -> list[str]:
    return [m.group(1) for m in _TERM.finditer(way_filter)]


def _way_matches(tags: dict, way_filter: str) -> bool:
    """Evaluate an Overpass tag filter (``["k"]``, ``["k"~"re"]``, ``["k"!~"re"]``, ``=``, ``!=``)."""
    for key, op, value in _TERM.findall(way_filter):
        present = key in tags and tags[key] is not None
        actual = str(tags[key]) if present else None
        if not op:
            ok = present
        elif op == "~":
            ok = present and re.search(value, actual) is not None
        elif op == "!~":
            ok = not present or re.search(value, actual) is None
        elif op == "=":
            ok = present and actual == value
        else:  # "!="
            ok = not present or actual != value
        if not ok:
            return False
    return True


@contextmanager
def _way_tags_kept(keys: list[str]):
    import osmnx as ox

    saved = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = list(dict.fromkeys(saved + keys))
    try:
        yield
    finally:
        ox.settings.useful_tags_way = saved


def _select_ways(graph: nx.MultiDiGraph, way_filter: str) -> nx.MultiDiGraph:
    drop = [(u, v, k) for u, v, k, d in graph.edges(keys=True, data=True) if not _way_matches(d, way_filter)]
    graph.remove_edges_from(drop)
    graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])
    # the tags used only for selection are not kept in the cache
    extra = set(_filter_keys(way_filter)) - {"highway", "area", "access", "service"}
    for _, _, data in graph.edges(data=True):
        for key in extra:
            data.pop(key, None)
    return graph


def _finalise(graph: nx.MultiDiGraph, mode: str) -> nx.MultiDiGraph:
    import osmnx as ox

    _set_geodesic_lengths(graph)
    if mode == "drive":
        graph = ox.routing.add_edge_speeds(graph, hwy_speeds=DRIVE_SPEEDS_KMH, fallback=DRIVE_FALLBACK_KMH)
        for _, _, data in graph.edges(data=True):  # ways without a highway class get no speed
            speed = data.get("speed_kph")
            if speed is None or not np.isfinite(speed):
                data["speed_kph"] = DRIVE_FALLBACK_KMH
    else:
        nx.set_edge_attributes(graph, WALK_SPEED_KMH, "speed_kph")
    graph = ox.routing.add_edge_travel_times(graph)
    graph.graph["mode"] = mode
    graph.graph["length_method"] = "pyproj.Geod WGS84 along the edge geometry"
    return graph


def _set_geodesic_lengths(graph: nx.MultiDiGraph) -> None:
    for u, v, data in graph.edges(data=True):
        geom = data.get("geometry")
        if geom is not None:
            lons, lats = zip(*geom.coords)
        else:
            lons = (graph.nodes[u]["x"], graph.nodes[v]["x"])
            lats = (graph.nodes[u]["y"], graph.nodes[v]["y"])
        data["length"] = float(_GEOD.line_length(lons, lats))


def _save_graph(graph: nx.MultiDiGraph, out_dir: Path, mode: str) -> dict:
    import osmnx as ox

    target = out_dir / f"{mode}.graphml"
    ox.save_graphml(graph, target)
    total = sum(d["length"] for _, _, d in graph.edges(data=True))
    return {"file": target.name, "nodes": graph.number_of_nodes(), "edges": graph.number_of_edges(),
            "edge_length_km": round(total / 1000, 3)}


def _all_tags() -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for tags in FEATURE_TAGS.values():
        for key, values in tags.items():
            merged.setdefault(key, [])
            merged[key] += [v for v in values if v not in merged[key]]
    return merged


def _feature_category_mask(frame: pd.DataFrame, tags: dict[str, list[str]]) -> pd.Series:
    mask = pd.Series(False, index=frame.index)
    for key, values in tags.items():
        if key in frame.columns:
            mask |= frame[key].isin(values)
    return mask


def _save_features(frame: gpd.GeoDataFrame, out_dir: Path) -> dict[str, int]:
    target = out_dir / "features.gpkg"
    target.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    frame = frame.reset_index() if len(frame) else frame
    tag_keys = sorted({k for tags in FEATURE_TAGS.values() for k in tags})
    for category, tags in FEATURE_TAGS.items():
        sel = frame[_feature_category_mask(frame, tags)] if len(frame) else frame
        counts[category] = len(sel)
        if sel.empty:
            continue
        out = gpd.GeoDataFrame({
            "osm_type": sel.get("element", pd.Series("", index=sel.index)).astype(str),
            "osm_id": sel.get("id", pd.Series(0, index=sel.index)).astype("int64"),
            "category": category,
            "name": _text(sel, "name"),
            "name_en": _text(sel, "name:en"),
            **{key: _text(sel, key) for key in tag_keys if key in sel.columns},
        }, geometry=sel.geometry.values, crs=frame.crs).to_crs(STORAGE_CRS)
        gpkg.write(out, target, category)  # typed tables (category_points, ...) if mixed
    return counts


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    return frame[column].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))


def _metadata(method: str, source: str) -> dict:
    import osmnx as ox

    now = dt.datetime.now(dt.timezone.utc)
    return {
        "method": method, "source": source, "date": now.date().isoformat(),
        "timestamp_utc": now.isoformat(timespec="seconds"), "attribution": ATTRIBUTION,
        "license": "Open Database License (ODbL) 1.0", "license_url": LICENSE_URL,
        "osmnx_version": ox.__version__, "walk_speed_kmh": WALK_SPEED_KMH,
        "drive_speeds_kmh": DRIVE_SPEEDS_KMH, "drive_fallback_kmh": DRIVE_FALLBACK_KMH,
        "length": "geodesic (pyproj.Geod, WGS84) along each edge",
        "graphs": {}, "features": {},
    }


def _write_metadata(out_dir: Path, meta: dict) -> None:
    (out_dir / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")


def _osm_header(path: Path) -> dict[str, str]:
    """Return the root ``<osm>`` attributes (generator, timestamp of the extract, …) of an OSM XML file."""
    import bz2
    import xml.etree.ElementTree as ET

    opener = bz2.open if path.name.lower().endswith(".bz2") else open
    try:
        with opener(path, "rb") as fh:
            for _, element in ET.iterparse(fh, events=("start",)):
                return dict(element.attrib)
    except (ET.ParseError, OSError, EOFError) as exc:  # a damaged .bz2 raises OSError/EOFError
        raise InputError(f"{path.name}: 不是有效的 OSM XML 或 bz2 压缩已损坏（{type(exc).__name__}: {short_reason(exc)}），"
                         "请重新下载或导出 / not valid OSM XML or a damaged bz2 file; download or export it again") from None
    return {}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Reading the cache
# --------------------------------------------------------------------------------------------

def read_metadata(cache_dir: str | Path) -> dict:
    """Return the cache's ``metadata.json``."""
    path = Path(cache_dir) / "metadata.json"
    if not path.exists():
        raise InputError(f"no OSM cache in {cache_dir}: run `wuzhong-geo osm import FILE.osm --out {cache_dir}` "
                         "(offline) or `wuzhong-geo osm fetch --out DIR` (online) first")
    return json.loads(path.read_text(encoding="utf-8"))


def load_graph(cache_dir: str | Path, mode: str = "walk", *, projected: bool = True) -> nx.MultiDiGraph:
    """Return the cached graph of ``mode``, projected to EPSG:4549 unless ``projected=False``."""
    import osmnx as ox

    _check_modes([mode])
    path = Path(cache_dir) / f"{mode}.graphml"
    if not path.exists():
        read_metadata(cache_dir)  # explains how to build a cache when there is none
        raise InputError(f"the OSM cache {cache_dir} has no {mode} network; rebuild it with --modes {mode}")
    graph = ox.load_graphml(path)
    return ox.project_graph(graph, to_crs=ANALYSIS_CRS) if projected else graph


def load_features(cache_dir: str | Path, category: str) -> gpd.GeoDataFrame:
    """Return one feature category of the cache (points, lines or polygons, EPSG:4326)."""
    if category not in FEATURE_TAGS:
        raise InputError(f"unknown OSM feature category {category!r}; choose from {', '.join(FEATURE_TAGS)}")
    path = Path(cache_dir) / "features.gpkg"
    meta = read_metadata(cache_dir)
    if not meta.get("features", {}).get(category):
        return gpd.GeoDataFrame({"category": []}, geometry=[], crs=STORAGE_CRS)
    return gpkg.read(path, category)


# --------------------------------------------------------------------------------------------
# Shortest paths and service areas
# --------------------------------------------------------------------------------------------

def shortest_path(graph: nx.MultiDiGraph, orig: Any, dest: Any, weight: str = "length") -> tuple[list, float]:
    """Return (node list, total ``weight``) of the shortest path from ``orig`` to ``dest``."""
    for node in (orig, dest):
        if node not in graph:
            raise InputError(f"node {node!r} is not in the graph")
    try:
        total, path = nx.single_source_dijkstra(graph, orig, dest, weight=weight)
    except nx.NetworkXNoPath as exc:
        raise InputError(f"no path from {orig} to {dest} in this network") from exc
    return path, float(total)


def edge_speed_kmh(data: dict, mode: str, speed_kmh: float | None = None) -> float:
    """Return the speed (km/h) used on an edge: ``speed_kmh`` if given, walk 4.8, drive ``speed_kph``."""
    if speed_kmh is not None:
        return float(speed_kmh)
    if mode == "walk":
        return WALK_SPEED_KMH
    value = data.get("speed_kph")
    return float(value) if value is not None else DRIVE_FALLBACK_KMH


def set_travel_times(graph: nx.MultiDiGraph, mode: str, speed_kmh: float | None = None) -> str:
    """Store each edge's time in seconds as ``time_s`` (length / speed) and return that name."""
    _check_modes([mode])
    for _, _, data in graph.edges(data=True):
        data["time_s"] = data["length"] / (edge_speed_kmh(data, mode, speed_kmh) / 3.6)
    return "time_s"


def snap(graph: nx.MultiDiGraph, points: gpd.GeoSeries | gpd.GeoDataFrame) -> pd.DataFrame:
    """Return, per point, its nearest edge (u, v, key), position along it (0..1 from u) and distance (m)."""
    import osmnx as ox

    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geoms.crs is None:
        raise InputError("facility points have no CRS")
    geoms = geoms.to_crs(graph.graph["crs"]).representative_point()
    columns = ["u", "v", "key", "position", "snap_m"]
    if len(geoms) == 0:
        return pd.DataFrame(columns=columns)
    edges, dists = ox.distance.nearest_edges(graph, geoms.x.to_numpy(), geoms.y.to_numpy(), return_dist=True)
    rows = []
    for (u, v, key), dist, point in zip(edges, dists, geoms):
        line = _edge_line(graph, u, v, graph.edges[u, v, key])
        rows.append((u, v, key, float(line.project(point, normalized=True)), float(dist)))
    return pd.DataFrame(rows, columns=columns, index=geoms.index)


def travel_times(
    graph: nx.MultiDiGraph, seeds: dict[Any, float], *, weight: str = "time_s",
    direction: str = "to", cutoff: float = float("inf"),
) -> dict[Any, float]:
    """Return the least ``weight`` from each node to any seed (``direction="from"``: from a seed).

    ``seeds`` maps a node to its starting cost (e.g. the time to walk to it from a facility).
    """
    if direction not in ("to", "from"):
        raise InputError(f"direction must be 'to' or 'from', not {direction!r}")
    adjacency = graph.pred if direction == "to" else graph.succ
    done: dict[Any, float] = {}
    heap = [(float(cost), i, node) for i, (node, cost) in enumerate(seeds.items()) if cost <= cutoff]
    heapq.heapify(heap)
    counter = len(heap)
    while heap:
        cost, _, node = heapq.heappop(heap)
        if node in done:
            continue
        done[node] = cost
        for other, edges in adjacency[node].items():
            if other in done:
                continue
            step = min(d[weight] for d in edges.values())
            total = cost + step
            if total <= cutoff:
                counter += 1
                heapq.heappush(heap, (total, counter, other))
    return done


@dataclass
class ServiceArea:
    """The part of a network within ``minutes`` of the nearest facility, and its polygon."""

    minutes: float
    mode: str
    direction: str
    buffer_m: float
    facilities: gpd.GeoDataFrame
    nodes: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame
    polygon: shapely.Geometry
    crs: str = ANALYSIS_CRS
    notes: list[str] = field(default_factory=list)

    def node_ids(self) -> set:
        """Return the ids of the nodes reached within the time budget."""
        return set(self.nodes["node"])

    def to_frame(self) -> gpd.GeoDataFrame:
        """Return the service-area polygon as a one-row GeoDataFrame (EPSG:4549)."""
        return gpd.GeoDataFrame(
            {"minutes": [self.minutes], "mode": [self.mode], "buffer_m": [self.buffer_m],
             "area_km2": [round(self.polygon.area / 1e6, 6)]},
            geometry=[self.polygon], crs=self.crs)


def service_area(
    graph: nx.MultiDiGraph, facilities: gpd.GeoDataFrame | gpd.GeoSeries, minutes: float = 10.0,
    mode: str = "walk", *, speed_kmh: float | None = None, buffer_m: float = 50.0,
    max_snap_m: float = 500.0, direction: str = "to",
) -> ServiceArea:
    """Return the service area of ``facilities`` on a projected graph (see the module notes).

    Each facility joins the network at the nearest point of the nearest edge; from there the
    edge is followed to both of its nodes (only the legal one on a one-way street).
    """
    if not minutes > 0:
        raise InputError(f"--minutes must be positive, not {minutes}")
    if direction not in ("to", "from"):
        raise InputError(f"direction must be 'to' or 'from', not {direction!r}")
    if not _is_projected(graph):
        raise InputError("the graph must be projected (load_graph(..., projected=True))")
    budget = minutes * 60.0
    weight = set_travel_times(graph, mode, speed_kmh)
    facilities = _as_frame(facilities)
    snapped = snap(graph, facilities)
    facilities = facilities.to_crs(graph.graph["crs"])
    for column in snapped.columns:
        facilities[f"snap_{column}" if column != "snap_m" else column] = snapped[column].to_numpy()
    notes = []
    far = facilities["snap_m"] > max_snap_m
    if far.any():
        notes.append(f"{int(far.sum())} facilities are more than {max_snap_m:g} m from the network and were left out")
        log.warning(notes[-1])
    seeds: dict[Any, float] = {}
    direct = []  # parts of the facilities' own edges reached without passing a node
    for row in snapped[~far.to_numpy()].itertuples(index=False):
        start = row.snap_m / (WALK_SPEED_KMH / 3.6)  # from the door to the street, on foot
        if start > budget:
            continue
        for u, v, key, pos in _facility_edges(graph, row.u, row.v, row.key, row.position, weight):
            cost = graph.edges[u, v, key][weight]
            # "to": nodes before the facility (u) reach it along the edge; "from": it reaches v
            node, along = (u, pos) if direction == "to" else (v, 1.0 - pos)
            seeds[node] = min(seeds.get(node, np.inf), start + along * cost)
            reach = (budget - start) / cost if cost > 0 else 1.0
            lo, hi = (max(0.0, pos - reach), pos) if direction == "to" else (pos, min(1.0, pos + reach))
            if hi > lo:
                direct.append((u, v, key, lo, hi))
    times = travel_times(graph, seeds, weight=weight, direction=direction, cutoff=budget)

    node_rows = [(n, t, Point(graph.nodes[n]["x"], graph.nodes[n]["y"])) for n, t in times.items()]
    nodes = gpd.GeoDataFrame(pd.DataFrame(node_rows, columns=["node", "time_s", "geometry"]),
                             geometry="geometry", crs=graph.graph["crs"])
    edges = _reached_edges(graph, times, budget, weight, direction, direct)
    pieces = list(edges.geometry) + list(nodes.geometry)
    polygon = shapely.union_all(shapely.buffer(pieces, buffer_m)) if pieces else shapely.Polygon()
    return ServiceArea(minutes=minutes, mode=mode, direction=direction, buffer_m=buffer_m,
                       facilities=facilities, nodes=nodes, edges=edges, polygon=polygon,
                       crs=graph.graph["crs"], notes=notes)


def _facility_edges(graph, u, v, key, position, weight) -> list[tuple]:
    """Return the facility's edge and, on two-way streets, its reverse, with the facility's position."""
    found = [(u, v, key, position)]
    if graph.has_edge(v, u):
        back = min(graph[v][u], key=lambda k: graph[v][u][k][weight])
        found.append((v, u, back, 1.0 - position))
    return found


def _reached_edges(graph, times, budget, weight, direction, direct=()) -> gpd.GeoDataFrame:
    spans: dict[tuple, tuple[float, float]] = {}
    for u, v, key, data in graph.edges(keys=True, data=True):
        # "to": a point on u->v continues to v, so the reachable part is the end next to v;
        # "from": it was reached from u, so it is the start next to u.
        anchor = v if direction == "to" else u
        if anchor not in times:
            continue
        spare = budget - times[anchor]
        fraction = min(1.0, spare / data[weight]) if data[weight] > 0 else 1.0
        spans[(u, v, key)] = (1.0 - fraction, 1.0) if direction == "to" else (0.0, fraction)
    for u, v, key, lo, hi in direct:
        if (u, v, key) in spans:  # two spans of one edge: both touch the facility's side or overlap
            old_lo, old_hi = spans[(u, v, key)]
            if min(hi, old_hi) >= max(lo, old_lo):
                lo, hi = min(lo, old_lo), max(hi, old_hi)
            else:
                spans[(u, v, key, "direct")] = (lo, hi)
                continue
        spans[(u, v, key)] = (lo, hi)
    rows = []
    for ident, (lo, hi) in spans.items():
        u, v, key = ident[:3]
        data = graph.edges[u, v, key]
        line = _edge_line(graph, u, v, data)
        part = line if (lo <= 0.0 and hi >= 1.0) else substring(line, lo, hi, normalized=True)
        rows.append({"u": u, "v": v, "key": key, "start": lo, "end": hi,
                     "length_m": data["length"] * (hi - lo), "geometry": part})
    frame = pd.DataFrame(rows, columns=["u", "v", "key", "start", "end", "length_m", "geometry"])
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=graph.graph["crs"])


def _edge_line(graph, u, v, data) -> LineString:
    start = (graph.nodes[u]["x"], graph.nodes[u]["y"])
    end = (graph.nodes[v]["x"], graph.nodes[v]["y"])
    line = data.get("geometry")
    if line is None:
        return LineString([start, end])
    first, last = line.coords[0], line.coords[-1]
    if np.hypot(first[0] - start[0], first[1] - start[1]) > np.hypot(last[0] - start[0], last[1] - start[1]):
        line = LineString(list(line.coords)[::-1])
    return line


def _is_projected(graph: nx.MultiDiGraph) -> bool:
    from pyproj import CRS

    return CRS.from_user_input(graph.graph["crs"]).is_projected


def _as_frame(facilities) -> gpd.GeoDataFrame:
    if isinstance(facilities, gpd.GeoSeries):
        facilities = gpd.GeoDataFrame(geometry=facilities)
    if facilities.crs is None:
        raise InputError("facility points have no CRS")
    return facilities.reset_index(drop=True)
