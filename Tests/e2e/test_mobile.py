"""Usable on a phone: at 390 px wide no page scrolls sideways and every link of the header
is on screen (in English and in Russian, whose words are longer); the same at 768 px (a
tablet) and at 1366 px (a laptop: nothing regressed).

One stack with demo data, one browser signed in once (sign-ins count against the address's
throttle). Every page a signed-in admin can GET is visited, derived from `voxfcgi routes`
with real ids from the seeded data, plus the pages that only appear after a form (Team with
a fresh invite link, Profile while enrolling two-factor sign-in) and the signed-out ones
(sign-in, choosing a password from an invite). The phone is Chromium's device emulation
(meta viewport honoured): a page wider than the screen makes the browser zoom out, so the
test checks both that the layout viewport stayed 390 px and that nothing is wider than it.

VOXFCGI_SHOTS=/some/folder saves a full-page screenshot of every page at each width
(390-en-calls-id.png, 390-ru-statistics.png …)."""

import base64
import json
import os
import re
from pathlib import Path

import pytest

from browser import By, EC, sign_in, wait
from conftest import ADMIN

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
TABLET = {"width": 768, "height": 1024, "deviceScaleFactor": 2, "mobile": True}
LAPTOP = {"width": 1366, "height": 900, "deviceScaleFactor": 1, "mobile": False}

# GET routes that are not pages: downloads, JSON, metrics, the health probe. /login/code is
# only reachable halfway through a two-factor sign-in (it redirects to /login otherwise).
NOT_PAGES = {"/calls/export.csv", "/recordings/:id", "/audit/export.csv", "/api/sync/status", "/api/calls/live",
             "/metrics", "/healthz", "/login/code"}

MEASURE = """
const doc = document.documentElement;
const wide = [];
for (const e of document.body.querySelectorAll('*')) {
  const r = e.getBoundingClientRect();
  if (r.width === 0 || r.right <= doc.clientWidth + 0.5) continue;
  const p = e.parentElement.getBoundingClientRect();
  if (r.right > p.right + 0.5) {  // sticks out of its parent: where an overflow starts
    wide.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
              (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\\s+/).join('.') : '') +
              ' ' + Math.round(r.right) + 'px');
  }
}
return {scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, innerWidth: window.innerWidth,
        origins: wide.slice(0, 5)};
"""

# Every link and button of the header: where it is, and whether a tap at its centre reaches it
# (not covered by something else).
HEADER = """
return Array.from(document.querySelectorAll('header.topbar a, header.topbar button')).map(function (e) {
  const r = e.getBoundingClientRect();
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  const hit = r.width > 0 && r.height > 0 && y >= 0 && y < window.innerHeight ? document.elementFromPoint(x, y) : null;
  return {text: (e.textContent || '').trim(), left: r.left, right: r.right, width: r.width, height: r.height,
          reachable: !!hit && (hit === e || e.contains(hit))};
});
"""


@pytest.fixture(scope="module")
def site(stack, browser):
    """The stack with demo data, the browser signed in as the admin, and the pages to visit."""
    stack.cli("seed-demo", "--calls", "300", "--days", "10", "--email", ADMIN[0])
    stack.cli("backup", "create")  # a row in Backups
    routes = [json.loads(line) for line in stack.cli("routes").splitlines() if line.strip()]
    check_public_pages_covered(routes)
    browser.delete_all_cookies()
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", LAPTOP)
    sign_in(browser, stack.base_url, *ADMIN)
    yield stack, browser, signed_in_pages(stack, browser, routes)
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def first_href(browser, base, page, selector):
    browser.get(base + page)
    links = browser.find_elements(By.CSS_SELECTOR, selector)
    assert links, f"no {selector} on {page}: did seed-demo change?"
    return links[0].get_attribute("href").replace(base, "")


def signed_in_pages(stack, browser, routes):
    """(name, path) of every page a signed-in admin can GET, ids from the seeded data."""
    base = stack.base_url
    ids = {
        # a call with a transcript: the longest detail page
        "/calls/:id": first_href(browser, base, "/calls", "#calls-table tr:has(svg.icon[role=img]) a[href^='/calls/']"),
        "/applications/:id": first_href(browser, base, "/applications", "#applications a[href^='/applications/']"),
        "/setup/accounts/:id": first_href(browser, base, "/setup", "#accounts a[href^='/setup/accounts/']"),
    }
    pages, uncovered = [], []
    for route in routes:
        pattern = route["pattern"]
        if route["method"] != "GET" or route["access"] in ("public", "webhook") or pattern in NOT_PAGES:
            continue
        if ":" in pattern and pattern not in ids:
            uncovered.append(pattern)
            continue
        pages.append((pattern, ids.get(pattern, pattern)))
    assert not uncovered, f"pages with an id this test does not know how to fill in: {uncovered}"
    pages.append(("error page", "/no-such-page"))
    return pages


def check_public_pages_covered(routes):
    patterns = {r["pattern"] for r in routes if r["method"] == "GET" and r["access"] == "public"} - NOT_PAGES
    known = {"/login", "/invite/:token"}
    assert patterns <= known, f"public pages this test does not visit: {patterns - known}"


def check(browser, width, label, name, problems):
    """Records on `problems` whatever is wrong with the page on screen; saves a screenshot."""
    m = browser.execute_script(MEASURE)
    overflow = m["scrollWidth"] - width
    if m["innerWidth"] != width or m["scrollWidth"] > m["clientWidth"] or overflow > 0:
        problems.append(f"{name}: {m['scrollWidth']} px of content in a {width} px window "
                        f"(scrolls sideways by {overflow} px; starts at {', '.join(m['origins']) or '?'})")
    for link in browser.execute_script(HEADER):
        inside = link["width"] > 0 and link["left"] >= -0.5 and link["right"] <= width + 0.5
        if not inside or not link["reachable"]:
            problems.append(f"{name}: header link {link['text']!r} at {link['left']:.0f}..{link['right']:.0f} px "
                            f"{'cannot be tapped (covered)' if inside else 'is off screen'}")
    shots = os.environ.get("VOXFCGI_SHOTS")
    if shots:
        folder = Path(shots)
        folder.mkdir(parents=True, exist_ok=True)
        height = browser.execute_script("return Math.min(document.documentElement.scrollHeight, 6000)")
        shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
        slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-") or "home"
        (folder / f"{label}-{slug}.png").write_bytes(base64.b64decode(shot["data"]))


def open_folded_header(browser):
    """If the header folds its links into a menu (<details> or a button with aria-expanded),
    opens it, so that the links can be checked."""
    for toggle in browser.find_elements(By.CSS_SELECTOR, "header.topbar details:not([open]) > summary, "
                                                         "header.topbar [aria-expanded=false]"):
        if toggle.is_displayed():
            toggle.click()


def switch_language(browser, base, language):
    browser.get(base + "/")
    button = browser.find_element(By.CSS_SELECTOR, "#switch-language button")
    if button.get_attribute("lang") == language:
        button.click()
        wait(browser).until(EC.staleness_of(button))
        wait(browser).until(lambda b: b.execute_script("return document.readyState === 'complete' && document.documentElement.lang") == language)


@pytest.mark.parametrize("screen,language", [(PHONE, "en"), (PHONE, "ru"), (TABLET, "en"), (LAPTOP, "en")],
                         ids=["phone-390", "phone-390-russian", "tablet-768", "laptop-1366"])
def test_no_page_scrolls_sideways(site, screen, language):
    stack, browser, pages = site
    base, width = stack.base_url, screen["width"]
    switch_language(browser, base, language)
    try:
        problems = visit_all(stack, browser, pages, screen, f"{width}-{language}")
    finally:
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", LAPTOP)
        switch_language(browser, base, "en")
    assert not problems, f"at {width} px ({language}):\n" + "\n".join(problems)


def visit_all(stack, browser, pages, screen, label):
    """Visits every page at `screen`; returns what is wrong with them."""
    base, width = stack.base_url, screen["width"]
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", screen)
    problems = []

    def visit(name, path=None):
        if path is not None:
            browser.get(base + path)
        open_folded_header(browser)
        check(browser, width, label, name, problems)

    for name, path in pages:
        visit(name, path)

    # Pages that only appear after a form: Team with the invite link to pass on, Profile with
    # the QR code and key of a two-factor enrolment. (The forms are submitted by script: on a
    # page that is too wide, a tap may miss, and the test is to say how wide, not time out.)
    browser.get(base + "/team")
    form = browser.find_element(By.ID, "invite")
    form.find_element(By.NAME, "email").send_keys(f"check-{label}@example.com")
    browser.execute_script("arguments[0].requestSubmit()", form)
    link = wait(browser).until(EC.presence_of_element_located((By.ID, "invite-link"))).text
    visit("/team after an invite")
    browser.get(base + "/profile")
    for start in browser.find_elements(By.ID, "two-factor-start"):  # only the first time: it stays enrolling
        browser.execute_script("arguments[0].requestSubmit()", start)
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#two-factor-qr svg")))
    visit("/profile while enrolling two-factor")

    # Signed out: the sign-in page and the invite's choose-a-password page. The session's
    # cookies are put back afterwards (signing in again would count against the throttle).
    cookies = browser.get_cookies()
    browser.delete_all_cookies()
    try:
        visit("/login", "/login")
        visit("/invite/:token", link[link.index("/invite/"):])
    finally:
        for cookie in cookies:
            browser.add_cookie(cookie)
    return problems
