"""What every chunk of a site check needs, built once per run: layers in EPSG:4549, indexes, rules.

The context is small (a few hundred KB) and picklable, so the Dask engine sends it once to each
worker. Steps that need prepared data of their own (a layer, a tree) keep it in
:meth:`CheckContext.memo`, built on first use in each process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from wuzhong_geo import layers
from wuzhong_geo.nearest import SegmentIndex, segment_index
from wuzhong_geo.rules import RuleMatrix
from wuzhong_geo.settings import ANALYSIS_CRS


@dataclass
class CheckContext:
    """Layers in EPSG:4549, their indexes, the rule matrix and the run's options."""

    rules: RuleMatrix
    parts: gpd.GeoDataFrame
    parts_tree: shapely.STRtree
    taihu: shapely.Geometry
    district: shapely.Geometry
    shore: shapely.Geometry
    infra: dict[str, tuple[np.ndarray, np.ndarray]]  # kind -> (geometries, names)
    infra_index: dict[str, SegmentIndex]
    shore_index: SegmentIndex
    district_index: SegmentIndex
    towns: pd.DataFrame
    buffer_m: float | None
    boundaries: str | None = None
    zone_rules: str | None = None
    _memo: dict = field(default_factory=dict, repr=False)

    @property
    def kinds(self) -> list[str]:
        """Infrastructure kinds that have features (one pair of columns each)."""
        return list(self.infra)

    def memo(self, key: str, build: Callable[[], Any]) -> Any:
        """``build()`` once per context and process (prepared data of a column step)."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    def sync_layers(self) -> None:
        """Make this process's layers match the context's (a Dask worker's: a no-op when they do)."""
        current = layers.active_boundaries()
        if (str(current) if current else None) != self.boundaries:
            layers.use_boundaries(self.boundaries)
        zone_rules = layers.active_zone_rules()
        if (str(zone_rules) if zone_rules else None) != self.zone_rules:
            layers.use_zone_rules(self.zone_rules)


def build_context(rules: RuleMatrix, buffer_m: float | None = None) -> CheckContext:
    """Build the context of a run from the active layers (official boundaries if in use)."""
    parts = layers.town_zone_parts().to_crs(ANALYSIS_CRS)[["code", "name", "zone", "geometry"]]
    parts = parts.reset_index(drop=True)
    parts["geometry"] = shapely.make_valid(parts.geometry.values)
    taihu = shapely.make_valid(layers.taihu().to_crs(ANALYSIS_CRS).geometry.union_all())
    district = shapely.make_valid(layers.district().to_crs(ANALYSIS_CRS).geometry.union_all())
    shore = shapely.make_valid(
        layers.taihu_full().to_crs(ANALYSIS_CRS).geometry.union_all()
    ).boundary
    for geom in (taihu, district, shore):
        shapely.prepare(geom)
    infra_layer = layers.infrastructure()
    if rules.infrastructure.in_plan_only:
        in_plan = infra_layer["in_plan"].astype(str).str.lower().isin(["true", "1", "yes"])
        infra_layer = infra_layer[in_plan]
    infra_layer = infra_layer.to_crs(ANALYSIS_CRS)
    infra = {}
    for kind in rules.infrastructure.kinds:
        sel = infra_layer[infra_layer["kind"] == kind]
        if len(sel):
            infra[kind] = (
                np.asarray(list(sel.geometry), dtype=object),
                sel["name"].astype(str).to_numpy(),
            )
    towns = layers.towns().set_index("code")[["name", "management_zone", "subregion"]]
    boundaries = layers.active_boundaries()
    zone_rules = layers.active_zone_rules()
    return CheckContext(
        rules=rules,
        parts=parts,
        parts_tree=shapely.STRtree(parts.geometry.values),
        taihu=taihu,
        district=district,
        shore=shore,
        infra=infra,
        infra_index={k: segment_index(v[0]) for k, v in infra.items()},
        shore_index=segment_index([shore]),
        district_index=segment_index([district]),
        towns=towns,
        buffer_m=buffer_m,
        boundaries=str(boundaries) if boundaries else None,
        zone_rules=str(zone_rules) if zone_rules else None,
    )
