"""The web app (`wuzhong-geo serve`) in a real browser: Debian's Chromium, network blocked.

The server is the real command in a subprocess on a free localhost port; the page is driven like
a user would: drop a file, read the table, open a row, download the XLSX, ask a place.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from conftest import CHROMIUM, start_server
from wuzhong_geo.cli import app as cli_app

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "samples" / "projects.csv"
APP_DATA = ROOT / "tests" / "data" / "app"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def server():
    proc, url, seconds = start_server()
    yield url, seconds
    proc.terminate()
    proc.wait(timeout=20)


class AppPage:
    """The app in a fresh browser context, recording requests beyond the server and script errors."""

    def __init__(self, browser, url: str) -> None:
        self.url = url
        self.context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        self.page = self.context.new_page()
        self.page.set_default_timeout(240_000)  # the machine may be busy
        self.external: list[str] = []
        self.errors: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url, wait_until="load")
        self.page.wait_for_selector("body[data-ready='1']")
        self.page.wait_for_function("() => document.querySelectorAll('path.leaflet-interactive').length > 10")

    def _route(self, route) -> None:
        if route.request.url.startswith(self.url):
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def drop(self, *paths: Path) -> None:
        """Choose files as the drop zone's file picker would."""
        self.page.set_input_files("#file-input", [str(p) for p in paths])

    def wait_results(self) -> None:
        self.page.wait_for_selector("#results:not([hidden]) #table tbody tr")

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def app_page(browser, server):
    page = AppPage(browser, server[0])
    yield page
    assert page.errors == [], page.errors
    assert page.external == [], f"requests beyond the local server: {page.external}"
    page.close()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_starts_in_under_three_seconds():
    # The machine is shared (load often above 10 on 2 cores), so wall time mostly measures the
    # other jobs: the test bounds the CPU time the server spent until its page answered, and
    # reports the wall time (about 1 s when the machine is quiet). Loading geopandas before the
    # page answers alone would cost more than the bound.
    proc, _, wall = start_server()
    try:
        cpu = _cpu_seconds(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert cpu < 1.5, f"the app used {cpu:.2f} s of CPU ({wall:.2f} s wall) before its page answered"


def test_check_the_sample_list_end_to_end(app_page, tmp_path):
    page = app_page.page
    assert "示意" in page.inner_text("#bounds-text")
    app_page.drop(SAMPLE)
    app_page.wait_results()
    assert page.is_hidden("#ask") and page.is_hidden("#error")
    # Every input row is in the table (one page holds them all), each with a status.
    rows = page.locator("#table tbody tr")
    assert rows.count() == 42
    statuses = page.locator("#table tbody td .status").all_inner_texts()
    assert len(statuses) == 42 and all(statuses)
    assert "42" in page.inner_text("#shown")
    # ...and on the map, one marker per located row.
    assert page.locator(".leaflet-wz-sites-pane path").count() >= 38

    # Status filter: only the rows of that status remain.
    chip = page.locator("#status-filters button").first
    label, count = chip.inner_text().rsplit(" ", 1)
    chip.click()
    page.wait_for_function(f"() => document.querySelectorAll('#table tbody tr').length === {int(count)}")
    assert set(page.locator("#table tbody td .status").all_inner_texts()) == {label.strip()}
    chip.click()
    page.wait_for_function("() => document.querySelectorAll('#table tbody tr').length === 42")
    # Search: the rows narrow to those with the text in any field.
    page.fill("#search", "郭巷")
    page.wait_for_function("() => document.querySelectorAll('#table tbody tr').length < 42")
    shown = page.locator("#table tbody tr").evaluate_all("rs => rs.map(r => r.dataset.row)")
    assert {"4", "5"} <= set(shown)  # the two 郭巷 projects of the sample
    page.fill("#search", "")
    page.wait_for_function("() => document.querySelectorAll('#table tbody tr').length === 42")

    # One row's panel: status, message and the labelled fields, with the boundaries it used.
    page.locator("#table tbody tr[data-row='4']").click()
    page.wait_for_selector("#panel:not([hidden])")
    assert "第 4 行" in page.inner_text("#panel-title")
    assert "郭巷" in page.inner_text("#panel-body")
    assert "功能区" in page.inner_text("#panel-body")
    assert "示意" in page.inner_text("#panel-bounds")

    # Every output of `check` can be downloaded; the XLSX reads back with every row.
    links = page.locator("#downloads a")
    assert sorted(links.evaluate_all("ls => ls.map(a => a.dataset.file)")) == sorted(
        ["results.csv", "results.parquet", "results.xlsx", "results.gpkg", "summary.json", "report.html"])
    with page.expect_download() as info:
        page.locator("#downloads a[data-file='results.xlsx']").click()
    path = tmp_path / "results.xlsx"
    info.value.save_as(path)
    sheet = openpyxl.load_workbook(path, read_only=True)["核查结果"]
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 43 and values[0][0] == "行号"
    status_col = values[0].index("状态")
    assert all(v[status_col] for v in values[1:])


def test_a_broken_file_shows_the_clis_message(app_page, tmp_path):
    page = app_page.page
    app_page.drop(APP_DATA / "header_only.csv")
    page.wait_for_selector("#error:not([hidden])")
    shown = page.inner_text("#error-text")
    cli = CliRunner().invoke(cli_app, ["check", str(APP_DATA / "header_only.csv"), "--out", str(tmp_path / "o")])
    assert cli.exit_code == 2
    assert shown.strip() and shown.strip() in cli.output
    # A file type the check does not read is refused before it is stored.
    odd = tmp_path / "notes.docx"
    odd.write_bytes(b"PK\x03\x04 not really")
    page.click("#error-close")
    app_page.drop(odd)
    page.wait_for_selector("#error:not([hidden])")
    assert "不支持的文件类型" in page.inner_text("#error-text")


def test_unknown_columns_and_crs_are_asked(app_page):
    page = app_page.page
    app_page.drop(APP_DATA / "unnamed_columns.csv")
    page.wait_for_selector("#ask:not([hidden])")
    assert page.locator("#ask-table tbody tr").count() == 2
    assert "东山茶园" in page.inner_text("#ask-table")
    page.select_option("#ask-lon", "X值")
    page.select_option("#ask-lat", "Y值")
    page.select_option("#ask-crs", "gcj02")
    page.click("#ask-go")
    app_page.wait_results()
    assert page.locator("#table tbody tr").count() == 2
    page.locator("#table tbody tr[data-row='1']").click()
    page.wait_for_selector("#panel:not([hidden])")
    assert "东山" in page.inner_text("#panel-body")


def test_user_data_is_shown_as_text_never_markup(app_page):
    page = app_page.page
    app_page.drop(APP_DATA / "hostile_name.csv")
    page.wait_for_selector("#ask:not([hidden])")  # degrees with no hint of their flavour: asked
    page.click("#ask-go")
    app_page.wait_results()
    assert "<img src=x" in page.inner_text("#table")
    page.locator("#table tbody tr").first.click()
    page.wait_for_selector("#panel:not([hidden])")
    assert "<img src=x" in page.inner_text("#panel")
    assert page.evaluate("() => window.__xss") is None
    assert page.locator("#table img, #panel img").count() == 0


def test_ask_a_place_by_coordinates_and_by_click(app_page):
    page = app_page.page
    page.fill("#where-lon", "120.6837")
    page.fill("#where-lat", "31.25305")
    page.click("#where-form button[type=submit]")
    page.wait_for_selector("#panel:not([hidden])")
    body = page.inner_text("#panel-body")
    assert "郭巷" in body and "先进制造轴" in body
    assert page.locator("#panel blockquote", has_text="串联甪直、郭巷全域").count() == 1  # the plan's words
    assert "示意" in page.inner_text("#panel-bounds")
    control = page.inner_text(".leaflet-control-layers-list")
    assert "规划政策区" in control and "重大基础设施" in control  # policy areas drawn under the results
    page.click("#panel-close")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.wait_for_selector("#panel:not([hidden])")
    assert "问一个地点" in page.inner_text("#panel-title")


def test_excel_and_a_shapefile_dropped_as_parts(app_page, tmp_path):
    import zipfile

    page = app_page.page
    app_page.drop(ROOT / "tests" / "data" / "sites" / "projects.xlsx")
    app_page.wait_results()
    assert page.locator("#table tbody tr").count() > 0
    with zipfile.ZipFile(ROOT / "tests" / "data" / "sites" / "redlines_gbk.zip") as archive:
        archive.extractall(tmp_path)
    parts = sorted((tmp_path / "红线").iterdir())
    assert {p.suffix for p in parts} == {".shp", ".dbf", ".shx", ".prj"}
    page.evaluate("document.getElementById('results').hidden = true")
    app_page.drop(*parts)
    app_page.wait_results()
    assert "红线.shp" in page.inner_text("#results-title")
    page.locator("#table tbody tr").first.click()
    page.wait_for_selector("#panel:not([hidden])")
    assert "polygon" in page.inner_text("#panel-body")


def test_official_boundaries_for_the_rest_of_the_session(app_page, tmp_path):
    from wuzhong_geo import layers

    page = app_page.page
    official = layers.towns()[["code", "name", "geometry"]].rename(columns={"name": "XZQMC", "code": "XZQDM"})
    path = tmp_path / "官方镇界.gpkg"
    official.to_file(path)
    bad = tmp_path / "missing_one.gpkg"
    official.iloc[1:].to_file(bad)
    page.set_input_files("#bounds-input", str(bad))
    page.wait_for_selector("#error:not([hidden])")
    assert "示意" in page.inner_text("#bounds-text")  # refused: still the schematic towns
    page.click("#error-close")
    page.set_input_files("#bounds-input", str(path))
    page.wait_for_function("() => document.getElementById('bounds-text').textContent.includes('官方镇界.gpkg')")
    page.fill("#where-lon", "120.6837")
    page.fill("#where-lat", "31.25305")
    page.click("#where-form button[type=submit]")
    page.wait_for_selector("#panel:not([hidden])")
    assert "官方镇界.gpkg" in page.inner_text("#panel-bounds")
    assert "郭巷" in page.inner_text("#panel-body")
    app_page.drop(SAMPLE)
    app_page.wait_results()
    assert "官方镇界.gpkg" in page.inner_text("#summary")
    page.click("#bounds-reset")
    page.wait_for_function("() => document.getElementById('bounds-text').textContent.includes('示意')")
