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

from wuzhong_geo import diskcache, layers
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

    def __getstate__(self) -> dict:
        """Pickled without the memo: each process builds its prepared data on first use."""
        return {**self.__dict__, "_memo": {}}

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
    infra_settings = rules.infrastructure
    # the layers' part depends on the data and the two infrastructure settings only: a later
    # process loads it from the disk cache instead of reprojecting and re-validating (~0.5 s)
    key = (diskcache.data_state(), infra_settings.in_plan_only, tuple(infra_settings.kinds))
    built = diskcache.cached(
        "context", key, lambda: _layers_part(infra_settings.in_plan_only, infra_settings.kinds)
    )
    for name in ("taihu", "district", "shore"):
        shapely.prepare(built[name])  # preparation is not pickled: once per process
    boundaries = layers.active_boundaries()
    zone_rules = layers.active_zone_rules()
    return CheckContext(
        rules=rules,
        **built,
        parts_tree=shapely.STRtree(built["parts"].geometry.values),
        infra_index={k: segment_index(v[0]) for k, v in built["infra"].items()},
        shore_index=segment_index([built["shore"]]),
        district_index=segment_index([built["district"]]),
        buffer_m=buffer_m,
        boundaries=str(boundaries) if boundaries else None,
        zone_rules=str(zone_rules) if zone_rules else None,
    )


def _layers_part(in_plan_only: bool, kinds: list[str]) -> dict[str, Any]:
    """The context's layers in EPSG:4549: zone parts, Taihu, district, shore, infrastructure, towns."""
    parts = layers.town_zone_parts().to_crs(ANALYSIS_CRS)[["code", "name", "zone", "geometry"]]
    parts = parts.reset_index(drop=True)
    parts["geometry"] = shapely.make_valid(parts.geometry.values)
    taihu = shapely.make_valid(layers.taihu().to_crs(ANALYSIS_CRS).geometry.union_all())
    district = shapely.make_valid(layers.district().to_crs(ANALYSIS_CRS).geometry.union_all())
    shore = shapely.make_valid(
        layers.taihu_full().to_crs(ANALYSIS_CRS).geometry.union_all()
    ).boundary
    infra_layer = layers.infrastructure()
    if in_plan_only:
        in_plan = infra_layer["in_plan"].astype(str).str.lower().isin(["true", "1", "yes"])
        infra_layer = infra_layer[in_plan]
    infra_layer = infra_layer.to_crs(ANALYSIS_CRS)
    infra = {}
    for kind in kinds:
        sel = infra_layer[infra_layer["kind"] == kind]
        if len(sel):
            infra[kind] = (
                np.asarray(list(sel.geometry), dtype=object),
                sel["name"].astype(str).to_numpy(),
            )
    towns = layers.towns().set_index("code")[["name", "management_zone", "subregion"]]
    return {"parts": parts, "taihu": taihu, "district": district, "shore": shore, "infra": infra,
            "towns": towns}
