"""The plan's tables (towns, zone membership, sub-regions, management zones) loaded and validated."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import pandas as pd
import pandera.pandas as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from wuzhong_geo import names
from wuzhong_geo.settings import plan_dir
from wuzhong_geo.style import MANAGEMENT_ZONES, SUBREGIONS, ZONES

TOWN_CODE = r"^320506\d{3}$"

TOWNS_SCHEMA = pa.DataFrameSchema(
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
MEMBERSHIP_SCHEMA = pa.DataFrameSchema(
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
SUBREGION_SCHEMA = pa.DataFrameSchema(
    {
        "code": pa.Column(str, pa.Check.str_matches(TOWN_CODE), unique=True),
        "subregion": pa.Column(str, pa.Check.isin(list(SUBREGIONS))),
        "basis": pa.Column(str),
        "confidence": pa.Column(str, pa.Check.isin(["high", "medium", "low"])),
    },
    strict=False,
)

ZoneName = Literal["中心城市核", "先进制造轴", "生态文旅带"]


class ShoreDistanceRule(BaseModel):
    """Land within ``distance_m`` of the Taihu shore goes to ``near_zone``, the rest to ``far_zone``."""

    model_config = ConfigDict(extra="forbid")
    method: Literal["shore_distance"]
    distance_m: float = Field(gt=0)
    near_zone: ZoneName
    far_zone: ZoneName
    assumption: str

    @property
    def zones(self) -> set[str]:
        """The two zones this rule assigns."""
        return {self.near_zone, self.far_zone}


class HalfPlaneRule(BaseModel):
    """Land left of the directed ``line`` goes to ``left_zone``, land right of it to ``right_zone``."""

    model_config = ConfigDict(extra="forbid")
    method: Literal["half_plane"]
    line: tuple[tuple[float, float], tuple[float, float]]
    left_zone: ZoneName
    right_zone: ZoneName
    assumption: str

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


@lru_cache(maxsize=1)
def towns_table() -> pd.DataFrame:
    """Return the 14 streets and towns (NBS 2023 codes) with seats, areas and aliases."""
    frame = TOWNS_SCHEMA.validate(_read_csv("towns.csv"))
    if len(frame) != 14:
        raise ValueError(f"towns.csv must list the 14 streets and towns, found {len(frame)}")
    return frame


@lru_cache(maxsize=1)
def zone_membership() -> pd.DataFrame:
    """Return per town and functional zone whether the plan puts it wholly or partly in the zone."""
    return MEMBERSHIP_SCHEMA.validate(_read_csv("zone_membership.csv"))


@lru_cache(maxsize=1)
def subregion_assignment() -> pd.DataFrame:
    """Return the sub-region (东/中/西部片区) of each town: an interpretation, marked as such."""
    return SUBREGION_SCHEMA.validate(_read_csv("subregions.csv"))


@lru_cache(maxsize=1)
def management_zone_table() -> pd.DataFrame:
    """Return the management zones (高新区, 开发区, 度假区, 太湖新城, 区直属) and their basis."""
    return _read_csv("management_zones.csv")


def load_zone_rules(path: str | Path | None = None) -> ZoneSplitRules:
    """Load and validate zone split rules (default: the bundled ``zone_split_rules.yaml``)."""
    path = Path(path) if path else plan_dir() / "zone_split_rules.yaml"
    with open(path, encoding="utf-8") as f:
        return ZoneSplitRules.model_validate(yaml.safe_load(f))


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
