"""The plan's tables (towns, zone membership, sub-regions, management zones) loaded and validated."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from wuzhong_geo import limits, names, tablecheck
from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import plan_dir
from wuzhong_geo.style import MANAGEMENT_ZONES, SUBREGIONS, ZONES
from wuzhong_geo.validation import explain

TOWN_CODE = r"^320506\d{3}$"
#: Where a zone dividing line may lie (lon/lat): around the district, generously.
DIVIDING_LINE_BBOX = (119.5, 30.5, 121.5, 31.8)


@lru_cache(maxsize=1)
def schemas() -> dict:
    """The pandera schemas of the plan tables (pandera is imported only when a table is validated)."""
    import pandera.pandas as pa

    towns = pa.DataFrameSchema(
        {
            "code": pa.Column(str, pa.Check.str_matches(TOWN_CODE), unique=True),
            "name": pa.Column(str, unique=True),
            "short_name": pa.Column(str, unique=True),
            "name_en": pa.Column(str),
            "unit_type": pa.Column(str, pa.Check.isin(["街道", "镇"])),
            "aliases": pa.Column(str, nullable=True),
            "management_zone": pa.Column(str, pa.Check.isin(list(MANAGEMENT_ZONES))),
            "seat_lon": pa.Column(float, pa.Check.in_range(119.9, 121.0)),
            "seat_lat": pa.Column(float, pa.Check.in_range(30.9, 31.45)),
            "seat_source": pa.Column(str),
            "seat_confidence": pa.Column(str, pa.Check.isin(["high", "medium", "low"])),
            "official_area_km2": pa.Column(float, pa.Check.gt(0), nullable=True),
            "fit_area": pa.Column(bool),
        },
        strict=False,
    )
    membership = pa.DataFrameSchema(
        {
            "code": pa.Column(str, pa.Check.str_matches(TOWN_CODE)),
            "zone": pa.Column(str, pa.Check.isin(list(ZONES))),
            "membership": pa.Column(str, pa.Check.isin(["whole", "part"])),
            "plan_wording": pa.Column(str),
            "plan_ref": pa.Column(str),
            "source": pa.Column(str),
            "confidence": pa.Column(str, pa.Check.isin(["high", "medium", "low"])),
        },
        unique=["code", "zone"],
        strict=False,
    )
    subregions = pa.DataFrameSchema(
        {
            "code": pa.Column(str, pa.Check.str_matches(TOWN_CODE), unique=True),
            "subregion": pa.Column(str, pa.Check.isin(list(SUBREGIONS))),
            "basis": pa.Column(str),
            "confidence": pa.Column(str, pa.Check.isin(["high", "medium", "low"])),
        },
        strict=False,
    )
    return {"towns.csv": towns, "zone_membership.csv": membership, "subregions.csv": subregions}


ZoneName = Literal["中心城市核", "先进制造轴", "生态文旅带"]


class ShoreDistanceRule(BaseModel):
    """Land within ``distance_m`` of the Taihu shore goes to ``near_zone``, the rest to ``far_zone``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    method: Literal["shore_distance"]
    distance_m: float = Field(gt=0, le=50_000)
    near_zone: ZoneName
    far_zone: ZoneName
    assumption: str

    @property
    def zones(self) -> set[str]:
        """The two zones this rule assigns."""
        return {self.near_zone, self.far_zone}


class HalfPlaneRule(BaseModel):
    """Land left of the directed ``line`` goes to ``left_zone``, land right of it to ``right_zone``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    method: Literal["half_plane"]
    line: tuple[tuple[float, float], tuple[float, float]]
    left_zone: ZoneName
    right_zone: ZoneName
    assumption: str

    @model_validator(mode="after")
    def _line_is_a_line(self) -> "HalfPlaneRule":
        (x0, y0), (x1, y1) = self.line
        lon_min, lat_min, lon_max, lat_max = DIVIDING_LINE_BBOX
        if not all(lon_min <= x <= lon_max and lat_min <= y <= lat_max for x, y in self.line):
            raise ValueError(
                f"分界线端点须为吴中区附近的经纬度 [经度, 纬度] / the line's ends must be lon/lat near Wuzhong "
                f"(lon {lon_min}–{lon_max}, lat {lat_min}–{lat_max})"
            )
        if abs(x1 - x0) + abs(y1 - y0) < 1e-6:
            raise ValueError("分界线两端点相同（长度为 0）/ the dividing line has zero length: give two different points")
        return self

    @property
    def zones(self) -> set[str]:
        """The two zones this rule assigns."""
        return {self.left_zone, self.right_zone}


class ZoneSplitRules(BaseModel):
    """The replaceable rules that split partial-member towns between two functional zones."""

    model_config = ConfigDict(extra="forbid")
    source: str
    confidence: Literal["high", "medium", "low"]
    rules: dict[str, ShoreDistanceRule | HalfPlaneRule]

    @model_validator(mode="after")
    def _codes_are_towns(self) -> "ZoneSplitRules":
        for code in self.rules:
            if not pd.Series([code]).str.match(TOWN_CODE).iloc[0]:
                raise ValueError(f"zone split rule key {code!r} is not a 9-digit Wuzhong town code")
        return self


def _read_csv(name: str) -> pd.DataFrame:
    path = plan_dir() / name
    return pd.read_csv(path, dtype={"code": str}, encoding="utf-8")


def _validated(name: str) -> pd.DataFrame:
    return tablecheck.validated(f"plan/{name}", _read_csv(name), lambda: schemas()[name])


@lru_cache(maxsize=1)
def towns_table() -> pd.DataFrame:
    """Return the 14 streets and towns (NBS 2023 codes) with seats, areas and aliases."""
    frame = _validated("towns.csv")
    if len(frame) != 14:
        raise ValueError(f"towns.csv must list the 14 streets and towns, found {len(frame)}")
    return frame


@lru_cache(maxsize=1)
def zone_membership() -> pd.DataFrame:
    """Return per town and functional zone whether the plan puts it wholly or partly in the zone."""
    return _validated("zone_membership.csv")


@lru_cache(maxsize=1)
def subregion_assignment() -> pd.DataFrame:
    """Return the sub-region (东/中/西部片区) of each town: an interpretation, marked as such."""
    return _validated("subregions.csv")


@lru_cache(maxsize=1)
def management_zone_table() -> pd.DataFrame:
    """Return the management zones (高新区, 开发区, 度假区, 太湖新城, 区直属) and their basis."""
    return _read_csv("management_zones.csv")


def load_zone_rules(path: str | Path | None = None) -> ZoneSplitRules:
    """Load and validate zone split rules (default: the bundled ``zone_split_rules.yaml``)."""
    path = Path(path) if path else plan_dir() / "zone_split_rules.yaml"
    data = limits.safe_load_yaml(path, what="功能区拆分规则 zone-rules YAML")
    if not isinstance(data, dict):
        raise InputError(f"{path.name}: 功能区拆分规则应为 YAML 映射（source/confidence/rules）/ "
                         "zone rules must be a YAML mapping with source, confidence and rules")
    try:
        return ZoneSplitRules.model_validate(data)
    except ValidationError as exc:
        raise InputError(
            explain(exc, path.name, "功能区拆分规则", "zone-rules file")
            + "\n  参照内置 data/plan/zone_split_rules.yaml 修改 / compare with the bundled data/plan/zone_split_rules.yaml"
        ) from None


@lru_cache(maxsize=1)
def town_lookup() -> dict[str, str]:
    """Map every accepted form of every town name (code, name, short name, alias) to its code."""
    table = towns_table()
    entries = []
    for row in table.itertuples():
        aliases = str(row.aliases).split(";") if isinstance(row.aliases, str) else []
        entries.append((row.code, [row.code, row.name, row.short_name, row.name_en, *aliases]))
    return names.build_lookup(entries)


def town_code(value: object) -> str | None:
    """Return the town code a name, alias (甬直, 長橋…) or code refers to, or None."""
    return names.match(value, town_lookup())
