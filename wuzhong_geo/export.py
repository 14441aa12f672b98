"""Write the planning layers to GeoPackage, GeoJSON or GeoParquet, all-or-nothing (:mod:`wuzhong_geo.outdir`)."""

from __future__ import annotations

from pathlib import Path

from wuzhong_geo import gpkg, layers
from wuzhong_geo.outdir import publish, staging
from wuzhong_geo.qgis_styles import add_layer_styles

FORMATS = ("gpkg", "geojson", "parquet")


def write_layers(out_dir: str | Path, fmt: str = "gpkg", names: tuple[str, ...] = layers.LAYER_NAMES) -> list[Path]:
    """Write each layer; gpkg gives one ``wuzhong_layers.gpkg`` with a typed table per layer.

    A layer that mixes geometry types (``infrastructure``) becomes one table per type
    (``infrastructure_lines``, ``infrastructure_points``), see :mod:`wuzhong_geo.gpkg`.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    frames = {name: layers.get(name) for name in names}
    with staging(out_dir) as tmp:
        if fmt == "gpkg":
            staged = tmp / "wuzhong_layers.gpkg"
            tables = [t for name, frame in frames.items() for t in gpkg.write(frame, staged, name)]
            # The same palette as the figures, in the table QGIS reads styles from.
            add_layer_styles(staged, [t for t in tables if gpkg.split_family(t)[1] != gpkg.NO_GEOMETRY])
            targets = [staged]
        elif fmt == "geojson":
            targets = []
            for name, frame in frames.items():
                staged = tmp / f"{name}.geojson"
                frame.to_file(staged, driver="GeoJSON", engine="pyogrio", COORDINATE_PRECISION=7)
                targets.append(staged)
        else:
            targets = []
            for name, frame in frames.items():
                staged = tmp / f"{name}.parquet"
                frame.to_parquet(staged)
                targets.append(staged)
        return publish(tmp, out_dir, [t.name for t in targets])
