"""Issue 3 end to end: Call History, detail, CSV export and Statistics through real nginx,
and a real browser filtering and paging through the history."""

import csv
import io
import re

import pytest
import requests

from browser import By, EC, sign_in, wait
from conftest import ADMIN
from stack import Stack

OPERATOR = ("operator@example.com", "e2e operator password")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("calls"))
    s.add_user(*ADMIN)
    s.add_user(*OPERATOR, role="operator", time_zone="Europe/Moscow")
    out = s.cli("seed-demo", "--calls", "400", "--days", "10", "--email", ADMIN[0])
    assert "seeded 400 calls" in out
    s.cli("seed-demo", "--calls", "30", "--days", "10", "--email", OPERATOR[0], "--seed", "9")
    s.start()
    yield s
    s.stop()


def rows(html):
    return re.findall(r'<tr data-call-id="(\d+)">', html)


def test_history_pages_without_overlap(seeded):
    session = seeded.login(*ADMIN)
    first = session.get(seeded.base_url + "/calls?status=answered&status=busy&size=25")
    assert first.status_code == 200
    ids = rows(first.text)
    assert len(ids) == 25
    assert "match the filter" in first.text
    older = re.search(r'href="([^"]+)" rel="next"', first.text).group(1).replace("&amp;", "&")
    second = session.get(seeded.base_url + older)
    assert not set(rows(second.text)) & set(ids)
    assert all("s-answered" in chunk or "s-busy" in chunk for chunk in second.text.split("<tr data-call-id")[1:])


def test_operator_sees_only_own_calls_and_csv(seeded):
    admin = seeded.login(*ADMIN)
    admin_ids = set(rows(admin.get(seeded.base_url + "/calls?size=200").text))
    operator = seeded.login(*OPERATOR)
    page = operator.get(seeded.base_url + "/calls?size=200")
    assert "30 calls" in page.text
    own = set(rows(page.text))
    assert len(own) == 30
    foreign = next(iter(admin_ids - own))
    assert operator.get(seeded.base_url + f"/calls/{foreign}").status_code == 404
    export = operator.get(seeded.base_url + "/calls/export.csv")
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
    records = list(csv.DictReader(io.StringIO(export.text)))
    assert len(records) == 30
    assert {r["call_id"] for r in records} == own
    # Times on pages are in the operator's zone (Moscow, UTC+3).
    detail = operator.get(seeded.base_url + f"/calls/{next(iter(own))}")
    assert "Europe/Moscow" in detail.text


def test_admin_export_has_every_call(seeded):
    export = seeded.login(*ADMIN).get(seeded.base_url + "/calls/export.csv", stream=True)
    assert export.headers.get("Transfer-Encoding") == "chunked"
    lines = export.text.strip().split("\r\n")
    assert len(lines) == 1 + 430


def test_statistics_page(seeded):
    html = seeded.login(*ADMIN).get(seeded.base_url + "/statistics").text
    assert re.search(r'id="total-calls">4[0-9]{2}<', html)
    # Charts for calls and durations, and, the accounts billing in two currencies, a cost
    # total and a chart for each (never one sum of roubles and dollars).
    assert html.count("<svg") >= 4
    assert re.search(r'data-currency="RUB">RUB: [0-9 \u00a0,.]+ ₽</h3>', html)
    assert re.search(r'data-currency="USD">USD: \$[0-9,.]+</h3>', html)
    assert "Support line" in html


def test_browser_filters_and_pages(seeded, browser):
    browser.delete_all_cookies()
    sign_in(browser, seeded.base_url, *ADMIN)
    browser.get(seeded.base_url + "/calls")
    browser.find_element(By.CSS_SELECTOR, "input[name=status][value=answered]").click()
    browser.find_element(By.CSS_SELECTOR, "select[name=size] option[value='25']").click()
    browser.find_element(By.CSS_SELECTOR, "#call-filter button[type=submit]").click()
    wait(browser).until(EC.url_contains("status=answered"))
    statuses = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#calls-table tbody .status")]
    assert len(statuses) == 25 and set(statuses) == {"answered"}
    first_page = [e.get_attribute("data-call-id") for e in browser.find_elements(By.CSS_SELECTOR, "#calls-table tbody tr")]

    browser.find_element(By.ID, "page-older").click()
    wait(browser).until(EC.url_contains("after="))
    second_page = [e.get_attribute("data-call-id") for e in browser.find_elements(By.CSS_SELECTOR, "#calls-table tbody tr")]
    assert second_page and not set(first_page) & set(second_page)
    assert "status=answered" in browser.current_url  # the filter stays in the URL

    browser.find_element(By.ID, "page-newer").click()
    wait(browser).until(EC.url_contains("before="))
    back = [e.get_attribute("data-call-id") for e in browser.find_elements(By.CSS_SELECTOR, "#calls-table tbody tr")]
    assert back == first_page

    # A bookmarked URL shows the same view.
    browser.get(browser.current_url)
    assert [e.get_attribute("data-call-id") for e in browser.find_elements(By.CSS_SELECTOR, "#calls-table tbody tr")] == first_page

    # Open a call from the list.
    browser.find_element(By.CSS_SELECTOR, "#calls-table tbody tr a").click()
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "dl.fields")))
    assert "answered" in browser.find_element(By.TAG_NAME, "h1").text
