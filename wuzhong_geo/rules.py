"""The site-check rule matrix: which sites deserve a second look, as an editable YAML file.

The bundled default is ``data/plan/site_rules.yaml`` (documented there and in docs/check.md). A
user's file has the same shape; an unknown key or value is an :class:`InputError` that names it.
Rules are evaluated on whole columns (no per-row loops).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from wuzhong_geo import limits, plan
from wuzhong_geo.columns import repeated_text
from wuzhong_geo.distinct import distinct_rows
from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import plan_dir
from wuzhong_geo.style import INFRASTRUCTURE_KINDS, MANAGEMENT_ZONES, SUBREGIONS, ZONES
from wuzhong_geo.validation import explain

Severity = Literal["note", "warning"]
#: Severities from least to most serious (``flag_level`` is the most serious one that fired).
SEVERITIES = ("note", "warning")
#: Statuses a site can have (see :mod:`wuzhong_geo.check`).
SITE_STATUSES = (
    "ok",
    "outside_district",
    "in_taihu_water",
    "invalid_coordinates",
    "invalid_geometry",
    "malformed_row",
)
StatusName = Literal[SITE_STATUSES]  # type: ignore[valid-type]
ZoneName = Literal[tuple(ZONES)]  # type: ignore[valid-type]
ManagementZoneName = Literal[tuple(MANAGEMENT_ZONES)]  # type: ignore[valid-type]
SubregionName = Literal[tuple(SUBREGIONS)]  # type: ignore[valid-type]
InfrastructureKind = Literal[tuple(INFRASTRUCTURE_KINDS)]  # type: ignore[valid-type]
GeometryKind = Literal["point", "line", "polygon"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Category(_Strict):
    """A project category: input category text containing any keyword belongs to it."""

    label: str
    keywords: list[str] = Field(min_length=1)


class InfrastructureSettings(_Strict):
    """Which infrastructure the nearest-feature distances are measured to."""

    in_plan_only: bool = True
    kinds: list[InfrastructureKind] = Field(default_factory=lambda: list(INFRASTRUCTURE_KINDS))


class When(_Strict):
    """Conditions of a rule; all given conditions must hold (lists: any value matches)."""

    status: list[StatusName] | None = None
    category: list[str] | None = None
    geometry: list[GeometryKind] | None = None
    functional_zone: list[ZoneName] | None = None
    management_zone: list[ManagementZoneName] | None = None
    subregion: list[SubregionName] | None = None
    town: list[str] | None = None
    policy_area: list[str] | None = None
    taihu_shore_within_m: float | None = Field(default=None, gt=0)
    taihu_shore_beyond_m: float | None = Field(default=None, ge=0)
    infrastructure_within_m: dict[InfrastructureKind, float] | None = None
    infrastructure_beyond_m: dict[InfrastructureKind, float] | None = None
    area_ha_above: float | None = Field(default=None, ge=0)
    area_ha_below: float | None = Field(default=None, gt=0)
    length_m_above: float | None = Field(default=None, ge=0)
    crosses_zone_boundary: bool | None = None
    crosses_town_boundary: bool | None = None
    partly_outside_district: bool | None = None
    town_mismatch: bool | None = None
    coordinates_swapped: bool | None = None

    @field_validator("town")
    @classmethod
    def _towns_exist(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        codes = []
        for item in value:
            code = plan.town_code(item)
            if code is None:
                raise ValueError(
                    f"unknown town {item!r}: use a name such as 甪直镇 or a 9-digit code"
                )
            codes.append(code)
        return codes

    @field_validator("policy_area")
    @classmethod
    def _policy_areas_exist(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        from wuzhong_geo.policy import policy_table  # pulls in geopandas: only when a rule names one

        table = policy_table()
        by_name = dict(zip(table["name"], table["id"])) | dict(zip(table["id"], table["id"]))
        unknown = [v for v in value if v not in by_name]
        if unknown:
            raise ValueError(f"unknown policy area {unknown}: use ids or names of data/plan/policy_areas.csv, "
                             f"e.g. {', '.join(list(table['id'])[:4])}")
        return [by_name[v] for v in value]


class Rule(_Strict):
    """One row of the matrix: when the conditions hold, the site gets the flag ``id``."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    severity: Severity
    message: str
    basis: str = ""
    when: When

    @model_validator(mode="after")
    def _has_conditions(self) -> Rule:
        if not any(v is not None for v in self.when.model_dump().values()):
            raise ValueError(f"rule {self.id!r} has no condition under 'when'")
        return self


class RuleMatrix(_Strict):
    """The whole rule file."""

    version: Literal[1]
    source: str
    confidence: Literal["high", "medium", "low"]
    infrastructure: InfrastructureSettings = Field(default_factory=InfrastructureSettings)
    categories: dict[str, Category] = Field(default_factory=dict)
    rules: list[Rule]

    @model_validator(mode="after")
    def _consistent(self) -> RuleMatrix:
        seen = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
            for cat in rule.when.category or []:
                if cat not in self.categories:
                    raise ValueError(
                        f"rule {rule.id!r}: unknown category {cat!r}; defined: {sorted(self.categories)}"
                    )
        for key in self.categories:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
                raise ValueError(f"category key {key!r} must be snake_case ASCII")
        return self


def default_rules_path() -> Path:
    """Return the bundled rule matrix ``data/plan/site_rules.yaml``."""
    return plan_dir() / "site_rules.yaml"


def load_rules(path: str | Path | None = None) -> RuleMatrix:
    """Load and validate a rule matrix YAML (default: the bundled one); InputError names any bad key."""
    path = Path(path) if path else default_rules_path()
    return parse_rules(limits.safe_load_yaml(path, what="规则 rules YAML"), source=path.name)


def parse_rules(data: object, source: str = "rules") -> RuleMatrix:
    """Validate an already-loaded rule mapping."""
    if not isinstance(data, dict):
        raise InputError(f"规则文件 {source} 应为 YAML 映射（键: 值）/ must be a YAML mapping")
    try:
        return RuleMatrix.model_validate(data)
    except ValidationError as exc:
        raise InputError(explain(exc, source)) from None


def contains_any(texts, words, case: bool = True) -> np.ndarray:
    """Whether each text holds any of ``words`` (literally; missing text: False), as a numpy mask.

    ``texts``: a Series (or array) of text, or a pyarrow string array. One RE2 pass of pyarrow
    over the texts: the call pandas' ``str.contains`` makes for such a pattern, without pandas
    parsing the pattern again (with Python's regex parser) on every call.
    """
    pattern = "|".join(re.escape(w) for w in words)  # no words: "", which every text holds
    if not isinstance(texts, pa.Array):
        texts = pa.array(pd.Series(texts).astype("string"), type=pa.large_string())
    found = pc.match_substring_regex(texts, pattern, ignore_case=not case)
    return found.fill_null(False).to_numpy(zero_copy_only=False)


def categorise(text: pd.Series, categories: dict[str, Category]) -> pd.Series:
    """Return the first category whose keyword occurs in each text (NaN where none)."""
    text = pd.Series(text).astype("string").fillna("")
    choice = np.full(len(text), len(categories))  # index into the keys; the last: none
    for i, cat in enumerate(categories.values()):
        choice[contains_any(text, cat.keywords, case=False) & (choice == len(categories))] = i
    keys = np.array([*categories, pd.NA], dtype=object)
    return pd.Series(keys[choice], index=text.index, dtype="string")


class _Factors:
    """The check columns of the sites, each factorised once: rules test values per distinct value.

    Statuses, categories and ``、``-joined lists repeat (a million sites hold a few hundred), so a
    condition is evaluated on the distinct values and broadcast by code.
    """

    def __init__(self, sites: pd.DataFrame):
        self.sites = sites
        self._memo: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._arrays: dict[tuple[str, str], np.ndarray] = {}  # numeric and yes/no columns
        self._padded: dict[str, pa.Array] = {}

    def codes(self, col: str) -> tuple[np.ndarray, np.ndarray]:
        """``pd.factorize`` of a column (code -1: missing) and its distinct values as objects, once."""
        if col not in self._memo:
            codes, distinct = pd.factorize(pd.Series(self.sites[col]), use_na_sentinel=True)
            self._memo[col] = (np.asarray(codes), np.asarray(distinct, dtype=object))
        return self._memo[col]

    def floats(self, col: str) -> np.ndarray:
        """A numeric column as floats (missing: NaN), converted once."""
        if ("float", col) not in self._arrays:
            self._arrays["float", col] = self.sites[col].astype(float).to_numpy()
        return self._arrays["float", col]

    def bools(self, col: str) -> np.ndarray:
        """A yes/no column as booleans (missing: False), converted once."""
        if ("bool", col) not in self._arrays:
            self._arrays["bool", col] = _bool(self.sites[col])
        return self._arrays["bool", col]

    def isin(self, col: str, values: list) -> np.ndarray:
        """Rows whose value is one of ``values`` (missing: never)."""
        codes, distinct = self.codes(col)
        wanted = set(values)  # a few distinct values: a set test each, not pandas' isin machinery
        hit = np.array([v in wanted for v in distinct] + [False], dtype=bool)
        return hit[codes]

    def any_of(self, col: str, values: list[str]) -> np.ndarray:
        """Rows whose ``、``-joined list (e.g. every zone a polygon touches) contains any of ``values``."""
        codes, distinct = self.codes(col)
        if col not in self._padded:  # the distinct lists fenced with 、 (once per column)
            padded = "、" + pd.Series(distinct, dtype="string").fillna("") + "、"
            self._padded[col] = pa.array(padded, type=pa.large_string())
        hit = np.append(contains_any(self._padded[col], ["、" + v + "、" for v in values]), False)
        return hit[codes]  # a missing list (code -1) holds nothing


def _bool(series: pd.Series) -> np.ndarray:
    return series.astype("boolean").fillna(False).to_numpy(dtype=bool)


def _row_sets(held: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Code of each row's set of True columns, and each distinct set as a boolean row.

    Rows are packed into bytes and compared as integers (``np.unique(axis=0)`` sorts rows as
    records, far slower).
    """
    packed = np.packbits(held, axis=1)
    key = np.zeros(len(held), dtype=np.int64)
    for start in range(0, packed.shape[1], 7):  # 7 bytes fit an int64
        value = np.zeros(len(held), dtype=np.int64)
        for byte in range(start, min(start + 7, packed.shape[1])):
            value = (value << 8) | packed[:, byte]
        key = pd.factorize(key * (len(held) + 1) + pd.factorize(value)[0])[0]
    code, first = distinct_rows(key)
    return code, held[first]


def rule_masks(matrix: RuleMatrix, sites: pd.DataFrame) -> dict[str, np.ndarray]:
    """Evaluate every rule on the check columns of ``sites``; return rule id -> boolean mask."""
    factors = _Factors(sites)
    return {rule.id: _mask(rule, factors) for rule in matrix.rules}


def _mask(rule: Rule, factors: _Factors) -> np.ndarray:
    """Where one rule holds."""
    sites = factors.sites
    n = len(sites)
    w = rule.when
    m = np.ones(n, dtype=bool)
    statuses = w.status or ["ok"]
    m &= factors.isin("status", statuses)
    if w.category is not None:
        m &= factors.isin("rule_category", w.category)
    if w.geometry is not None:
        m &= factors.isin("geometry_type", w.geometry)
    if w.functional_zone is not None:
        m &= factors.any_of("functional_zones", w.functional_zone)
    if w.management_zone is not None:
        m &= factors.any_of("management_zones", w.management_zone)
    if w.subregion is not None:
        m &= factors.isin("subregion", w.subregion)
    if w.town is not None:
        m &= factors.any_of("town_codes", w.town)
    if w.policy_area is not None:
        m &= factors.any_of("policies", w.policy_area)
    shore = factors.floats("taihu_shore_m")
    with np.errstate(invalid="ignore"):
        if w.taihu_shore_within_m is not None:
            m &= shore <= w.taihu_shore_within_m
        if w.taihu_shore_beyond_m is not None:
            m &= shore > w.taihu_shore_beyond_m
        if w.infrastructure_within_m is not None:
            any_near = np.zeros(n, dtype=bool)
            for kind, dist in w.infrastructure_within_m.items():
                col = f"dist_{kind}_m"
                if col in sites:
                    any_near |= factors.floats(col) <= dist
            m &= any_near
        if w.infrastructure_beyond_m is not None:
            for kind, dist in w.infrastructure_beyond_m.items():
                col = f"dist_{kind}_m"
                if col in sites:
                    d = factors.floats(col)
                    m &= np.isfinite(d) & (d > dist)
        area = factors.floats("area_ha")
        if w.area_ha_above is not None:
            m &= area > w.area_ha_above
        if w.area_ha_below is not None:
            m &= area < w.area_ha_below
        if w.length_m_above is not None:
            m &= factors.floats("length_m") > w.length_m_above
    for flag in (
        "crosses_zone_boundary",
        "crosses_town_boundary",
        "partly_outside_district",
        "coordinates_swapped",
    ):
        want = getattr(w, flag)
        if want is not None:
            m &= factors.bools(flag) == want
    if w.town_mismatch is not None:
        match = sites["town_match"].astype("boolean")
        m &= (
            (match.eq(False) if w.town_mismatch else match.eq(True))
            .fillna(False)
            .to_numpy(dtype=bool)
        )
    return m


def apply_rules(matrix: RuleMatrix, sites: pd.DataFrame) -> pd.DataFrame:
    """Return ``flags`` (rule ids, ``;``-joined), ``flag_level`` and ``flag_notes`` per site.

    The texts are composed once per distinct set of rules that hold and broadcast (categoricals).
    """
    n = len(sites)
    held = np.zeros((n, len(matrix.rules)), dtype=bool)
    factors = _Factors(sites)
    for i, rule in enumerate(matrix.rules):
        held[:, i] = _mask(rule, factors)
    code, sets = _row_sets(held)
    flags, notes, levels = [], [], []
    for row in sets:
        rules = [r for r, on in zip(matrix.rules, row) if on]
        flags.append(";".join(r.id for r in rules))
        notes.append("；".join(r.message for r in rules))
        levels.append(max((SEVERITIES.index(r.severity) + 1 for r in rules), default=0))
    labels = ["", *SEVERITIES]
    return pd.DataFrame(
        {
            "flags": repeated_text(flags, code),
            "flag_level": repeated_text([labels[v] for v in levels], code),
            "flag_notes": repeated_text(notes, code),
        },
        index=sites.index,
    )
