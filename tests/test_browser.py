"""The web UI in headless Chromium (Debian's chromium, driven by Playwright through
`executable_path`; Playwright never downloads a browser). Screenshots are kept in
test-artifacts/screenshots/ for a person to look at."""
from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from conftest import HOSTILE_TEXT, ROOT
from pdfmaker import make_pdf

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("AUDITARCHIVE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "test-artifacts" / "screenshots"
# Flags for a sandboxed machine without a network: no background connections, no sandbox as root.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make setup` installs Debian's chromium "
                    "(scripts/setup-system.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server, request):
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN",
                                  base_url=live_server.url)
    pg = context.new_page()
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.dialogs = dialogs
    log_in_as_auditor(pg, live_server)
    yield pg
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not dialogs, f"a script ran in the page: {dialogs}"
    assert not errors, f"script errors in the page: {errors}"


def log_in_as_auditor(pg, live_server) -> None:
    pg.goto("/")                                  # not logged in: the login form
    assert "/login" in pg.url
    pg.fill("#name", "auditor")
    pg.fill("#password", live_server.passwords["auditor"])
    pg.click("form button[type=submit]")
    pg.wait_for_selector("header .who")


def params(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


def test_search_a_chinese_term_and_narrow_by_facets(page):
    page.goto("/")
    page.fill("#q", "管理评审")
    page.press("#q", "Enter")
    page.wait_for_selector("li.hit")
    total = int(page.inner_text("#total"))
    assert total > 0
    assert page.locator("li.hit mark").count() > 0
    assert params(page.url)["q"] == ["管理评审"]

    page.click("section.facet[data-facet=field] li a >> nth=0")
    page.wait_for_load_state()
    assert "field" in params(page.url)
    narrowed = int(page.inner_text("#total"))
    assert 0 < narrowed <= total
    assert page.locator("a.chip").count() >= 1

    tree = page.locator("section.codetree")
    tree.locator("summary >> nth=0").click()               # open the first major code
    link = tree.locator("details[open] ul a[data-code]").first
    code = link.get_attribute("data-code")
    link.click()
    page.wait_for_load_state()
    assert params(page.url)["code"] == [code]
    assert params(page.url)["q"] == ["管理评审"]           # the query is kept in the URL
    for hit in page.locator("li.hit .meta").all_inner_texts()[:5]:
        assert hit  # each hit shows its metadata line


def test_open_a_hit_at_its_page_and_see_the_highlight(page):
    page.goto("/?" + "q=纠正措施&type=ncr")
    page.wait_for_selector("li.hit")
    pdf_hit = page.locator("li.hit").filter(has=page.locator("div.file", has_text=".pdf ·")).first   # page images
    snippet_link = pdf_hit.locator("p.snippet a.pg").first
    wanted = re.search(r"\d+", snippet_link.inner_text()).group()
    snippet_link.click()
    page.wait_for_selector("section.page")
    assert urlparse(page.url).fragment == f"p{wanted}"
    target = page.locator(f"section#p{wanted}")
    assert target.locator("mark").count() > 0
    assert "纠正" in target.locator("mark").first.inner_text()
    assert target.locator("details.image").get_attribute("open") is not None
    image = target.locator("details.image img")
    image.wait_for(state="visible")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert page.locator(".card .kv").inner_text().count("受审核组织") == 1


def test_scope_browser_and_code_page(page):
    page.goto("/scope")
    page.locator("ul.scope-tree > li > details > summary").first.click()
    link = page.locator("ul.scope-tree details[open] ul a[data-code]").first
    code = link.get_attribute("data-code")
    link.click()
    page.wait_for_selector("h1 .code")
    assert page.inner_text("h1 .code") == code
    assert page.locator("ol.hits li.hit").count() > 0


def test_statistics_charts_are_drawn(page):
    page.goto("/stats")
    for chart in ("chart-years", "chart-fields", "chart-clauses", "chart-codes"):
        assert page.locator(f"#{chart} svg rect").count() > 0, chart


def test_upload_a_pdf_and_find_it(page, tmp_path):
    marker = "麒麟" + uuid.uuid4().hex[:6].upper()
    pdf = make_pdf(tmp_path / f"监督审核报告{marker}.pdf",
                   ["监督审核报告", "受审核方：成都青松包装材料有限公司",
                    f"审核发现：{marker}车间的首件检验记录不完整。"])
    page.goto("/upload")
    page.set_input_files("input[type=file]", str(pdf))
    page.click("form.upload button[type=submit]")
    row = page.locator("tr.just-sent")
    row.wait_for()
    page.wait_for_selector("tr.just-sent .status.ingested", timeout=90_000)   # the page refreshes itself
    assert marker in row.inner_text() or "监督审核报告" in row.inner_text()

    page.goto("/")
    page.fill("#q", marker)
    page.press("#q", "Enter")
    page.wait_for_selector("li.hit")
    assert page.inner_text("#total") == "1"
    marked = "".join(page.locator("li.hit mark").all_inner_texts()).lower()
    assert "麒麟" in marked and marker[2:].lower() in marked      # jieba cuts it into 麒麟 | 6f8a18


def test_refused_upload_is_explained(page, tmp_path):
    fake = tmp_path / "not-a-pdf.pdf"
    fake.write_text("plain text")
    page.goto("/upload")
    page.set_input_files("input[type=file]", str(fake))
    page.click("form.upload button[type=submit]")
    alert = page.locator(".alert")
    alert.wait_for()
    assert "not-a-pdf.pdf" in alert.inner_text() and "PDF" in alert.inner_text()


def test_html_in_documents_is_shown_as_text(page):
    page.goto("/?q=恶意脚本")
    page.wait_for_selector("li.hit")
    hit = page.locator("li.hit").first
    assert "<script>" in hit.inner_text()
    assert page.locator("li.hit script, li.hit img").count() == 0
    hit.locator("a.hit-title").click()
    page.wait_for_selector("section.page")
    assert "<script>" in page.locator("section.page").first.inner_text()
    assert "<script>" in page.locator(".card").inner_text()
    assert page.locator("main script, main img[src=x]").count() == 0
    assert HOSTILE_TEXT[:20] in page.content().replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')


def test_find_a_case_and_read_its_timeline(page):
    page.goto("/?q=审核报告&type=audit_report")
    org = page.locator("li.hit .meta .org").first.inner_text()
    page.click("header nav >> text=案例")
    page.fill("#q", org)
    page.press("#q", "Enter")
    page.locator("table.cases a").first.click()
    page.wait_for_selector("ol.timeline li.audit")
    assert org in page.inner_text("h1")
    assert page.locator("ol.timeline li.audit").count() >= 1
    page.locator("ol.timeline details summary").first.click()
    page.locator("ol.timeline details[open] a").first.click()
    page.wait_for_selector(".card .kv")
    assert org in page.inner_text(".card")


@pytest.fixture
def phone(browser, live_server, request):
    """A 390-pixel-wide phone, logged in as an auditor."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", base_url=live_server.url,
                                  device_scale_factor=2, is_mobile=True, has_touch=True)
    pg = context.new_page()
    log_in_as_auditor(pg, live_server)
    yield pg
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / (re.sub(r"[^\w.-]+", "_", request.node.name) + ".png")), full_page=False)
    context.close()


@pytest.mark.parametrize("path", ["/", "/?q=管理评审", "/cases", "/scope", "/stats", "/upload"])
def test_pages_work_on_a_phone(phone, path):
    """At 390 px: nothing wider than the screen but what scrolls inside a panel, the search
    button whole, navigation words on one line each (上传 never 上/传)."""
    phone.goto(path)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{path}: the page is {width} px wide"
    for link in phone.query_selector_all("header nav a"):
        box = link.bounding_box()
        line = float(phone.evaluate("(e) => parseFloat(getComputedStyle(e).lineHeight) || 20", link))
        assert box["height"] < 1.8 * line, f"{path}: '{link.inner_text()}' wraps"
    button = phone.query_selector(".searchbar button")
    if button:
        box = button.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, f"{path}: the search button is cut off"
