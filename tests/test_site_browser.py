"""The site as users open it (issue 35): Debian's chromium, driven by Playwright, loads every page of the site of
the committed runs from file:// with every non-file request aborted and counted (none), no console error, every
chart drawn with one point per ratio its data holds, every link resolving to a file, and the view's state (filter,
log scale, hidden columns, the compared runs) kept in the URL hash. make browser installs chromium."""

import json
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from harness.site.build import build_site

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip
DRAWN = """() => [...document.querySelectorAll('.chart[data-chart]')].every(d => d.dataset.rendered === '1')"""
POINTS = """() => [...document.querySelectorAll('.chart[data-chart]')].map(d => d.querySelectorAll(
    'g.mark-symbol.role-mark path').length)"""

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        pytest.fail("no /usr/bin/chromium: make browser installs Debian's chromium for this test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    build_site([REPO / "results"], out, progress=lambda line: None)
    return out


class Visit:
    """One browser context whose every request that is not a file is aborted and counted."""

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.blocked, self.errors = [], []
        self.context.route("**/*", self._route)

    def _route(self, route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def open(self, url: str):
        page = self.context.new_page()
        page.on("console", lambda m: self.errors.append(f"{url}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"{url}: {e}"))
        page.goto(url)
        page.wait_for_function(DRAWN, timeout=120_000)
        return page


def expected_points(page) -> list[int]:
    """Per chart, how many points its inline data should draw: its rows with a ratio (or a calibration time)."""
    specs = json.loads(page.locator("#charts").text_content())
    return [sum(1 for r in s["data"]["values"] if r.get("ratio") is not None or r.get("ms") is not None) for s in specs]


def test_every_page_opens_offline_draws_its_charts_and_links_to_files_that_exist(browser, site, tmp_path):
    visit = Visit(browser)
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 15
    charts = 0
    for path in pages:
        page = visit.open(path.as_uri())
        want = expected_points(page)
        assert page.evaluate(POINTS) == want, path
        assert all(n > 0 for n in want), path
        charts += len(want)
        for href in page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)"):
            url = urlparse(href)
            assert url.scheme == "file", (path, href)
            assert Path(unquote(url.path)).exists(), (path, href)
        if path in (site / "index.html", site / "runs" / "bench_paired" / "index.html"):
            page.screenshot(path=str(tmp_path / f"{path.parent.name}.png"))
        page.close()
    assert visit.blocked == [] and visit.errors == []
    assert charts > 100  # the run pages, releases and history together
    assert (tmp_path / "bench_paired.png").stat().st_size > 10_000


def test_the_view_state_lives_in_the_url_hash(browser, site):
    visit = Visit(browser)
    page = visit.open((site / "matrix.html").as_uri() + "#q=execute&hide=0")
    rows = page.eval_on_selector_all("table.matrix tbody tr", "els => els.map(r => [r.dataset.text, r.hidden])")
    assert rows and all(hidden == ("execute" not in text.lower()) for text, hidden in rows)
    assert page.eval_on_selector_all(
        "[data-col='0']:not(.col-toggle)", "els => els.length > 1 && els.every(e => e.hidden)"
    )
    assert not page.locator(".col-toggle[data-col='0']").is_checked()
    assert not page.eval_on_selector_all("[data-col='1']:not(.col-toggle)", "els => els.some(e => e.hidden)")
    page.locator("#search").fill("per_param_separate")
    assert "q=per_param_separate" in page.url
    page.close()

    page = visit.open((site / "runs" / "bench_paired" / "index.html").as_uri())
    axis = "() => document.querySelector('.chart svg').outerHTML.includes('×')"
    assert page.evaluate(axis)
    page.locator("#log").uncheck()
    page.wait_for_function(DRAWN)
    assert "log=0" in page.url
    page.locator("#theme").click()
    assert page.evaluate("document.documentElement.dataset.theme") in ("dark", "light") and "theme=" in page.url
    page.close()

    page = visit.open((site / "compare.html").as_uri() + "#a=reference&b=bench_paired")
    shown = page.eval_on_selector_all(
        "section.pair", "els => els.filter(e => !e.hidden).map(e => e.dataset.a + '>' + e.dataset.b)"
    )
    assert shown == ["reference>bench_paired"]
    assert "within-case ratios" in page.locator("section.pair:not([hidden])").inner_text()
    page.select_option("#a", "counts")
    page.select_option("#b", "lineage")
    assert page.locator("#nopair").is_visible()
    page.close()
    assert visit.blocked == [] and visit.errors == []
