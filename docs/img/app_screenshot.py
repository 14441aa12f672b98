"""Rebuild docs/img/app.png: the web app after checking the sample list, one row's panel open.

Run from the repository root: ``python docs/img/app_screenshot.py`` (needs /usr/bin/chromium).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "img" / "app.png"


def main() -> None:
    """Start `wuzhong-geo serve`, check the sample, open row 4, save the screenshot."""
    server = subprocess.Popen(
        [sys.executable, "-c", "from wuzhong_geo.cli import main; main()", "serve", "--port", "0"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        url = re.search(r"http://\S+/", server.stdout.readline()).group(0)
        for _ in range(200):
            try:
                urllib.request.urlopen(url, timeout=5)
                break
            except OSError:
                time.sleep(0.05)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--headless=new", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1440, "height": 860})
            page.set_default_timeout(300_000)
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']")
            page.set_input_files("#file-input", str(ROOT / "data" / "samples" / "projects.csv"))
            page.wait_for_selector("#results:not([hidden]) #table tbody tr")
            page.locator("#table tbody tr[data-row='4']").click()
            page.wait_for_selector("#panel:not([hidden])")
            page.wait_for_timeout(1500)  # let the map finish zooming
            page.screenshot(path=str(OUT))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(OUT)


if __name__ == "__main__":
    main()
