"""``python -m wuzhong_geo.cli``: the same as the ``wuzhong-geo`` command (useful in a source checkout)."""

from wuzhong_geo.cli import main

main()
