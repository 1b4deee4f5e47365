"""Issue 17, transcript search and the player that follows the transcript, end to end: the
demo's calls with recordings (`seed-demo --with-recordings`: synthesized audio whose lines
start at the transcript's times), searched through nginx, opened at the matched line in
headless Chromium."""

import csv
import io
import re

import pytest
import requests

from browser import By, EC, sign_in, wait
from conftest import ADMIN
from stack import csrf_from


@pytest.fixture(scope="module")
def demo(stack):
    out = stack.cli("seed-demo", "--calls", "400", "--with-recordings")
    ids = [int(i) for i in re.findall(r"/calls/(\d+)", out)]
    assert len(ids) == 4, out
    return ids


def test_search_finds_a_word_and_opens_the_call_at_its_line_where_the_player_seeks(stack, browser, demo):
    sign_in(browser, stack.base_url, *ADMIN)
    browser.get(stack.base_url + "/calls")
    box = browser.find_element(By.ID, "search-box")
    box.send_keys("refunds")  # the transcript says "refund": the stem matches
    box.submit()
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "a.match-line")))
    lines = browser.find_elements(By.CSS_SELECTOR, "a.match-line")
    rows = browser.find_elements(By.CSS_SELECTOR, "#calls-table tr[data-call-id]")
    assert [int(r.get_attribute("data-call-id")) for r in rows] == [demo[0]]
    marks = [m.text for m in browser.find_elements(By.CSS_SELECTOR, "a.match-line mark")]
    assert marks and all(m.lower().startswith("refund") for m in marks)
    first = lines[0]
    href = first.get_attribute("href")
    seconds = int(re.search(r"#t=(\d+)$", href).group(1))
    assert seconds > 0  # the refund is asked for in the second line, not at 0:00

    first.click()
    wait(browser).until(lambda d: d.execute_script(
        "const a = document.getElementById('recording-player'); return a && a.readyState >= 1;"))
    wait(browser).until(lambda d: abs(d.execute_script(
        "return document.getElementById('recording-player').currentTime;") - seconds) < 0.6)
    speaking = browser.find_element(By.CSS_SELECTOR, "#transcript li.turn.speaking")
    assert int(speaking.get_attribute("data-t")) == seconds and "refund" in speaking.text.lower()

    # Playing on: the mark moves to the line being spoken.
    turns = browser.find_elements(By.CSS_SELECTOR, "#transcript li.turn")
    later = int(turns[-1].get_attribute("data-t"))
    browser.execute_script(f"document.getElementById('recording-player').currentTime = {later + 0.3};")
    wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, "#transcript li.turn.speaking")
                        .get_attribute("data-t") == str(later))
    # A click on a line seeks there and puts the moment in the address.
    turns[2].click()
    target = int(turns[2].get_attribute("data-t"))
    wait(browser).until(lambda d: abs(d.execute_script(
        "return document.getElementById('recording-player').currentTime;") - target) < 0.6)
    assert browser.current_url.endswith(f"#t={target}")
    assert browser.find_element(By.ID, "moment-link").is_displayed()


def test_russian_forms_phrases_prefixes_and_filters_through_nginx(stack, demo):
    session = stack.login(*ADMIN)

    def found(**params):
        page = session.get(stack.base_url + "/calls", params=params)
        assert page.status_code == 200, page.text[:500]
        return [int(i) for i in re.findall(r'<tr data-call-id="(\d+)"', page.text)], page.text

    assert found(q="курьера")[0] == [demo[1]]            # "курьер" in the transcript
    assert found(q='"возврат комиссии"')[0] == [demo[3]]
    assert found(q='"комиссии возврат"')[0] == []
    assert found(q="заблок*")[0] == [demo[3]]
    assert found(q="friday appointment")[0] == [demo[2]]
    assert found(q="friday", status="failed")[0] == []
    assert found(q="friday", number="7946 0018")[0] == [demo[2]]
    assert found(q="friday", number="+7 916 123")[0] == []  # the other demo callers
    assert found(q="спасибо", number="+7 916 123")[0] == [demo[1], demo[3]]  # newest first
    ids, text = found(q="нетакогословавообще")
    assert ids == [] and "No call’s transcript matches." in text

    # What was typed comes back escaped, in the box and in the marks.
    ids, text = found(q='<img src=x onerror=alert(1)> refund')
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt; refund" in text

    for bad, message in [("a*", "at least two letters"), ("x" * 201, "too long"), ('" "', "nothing to search")]:
        page = session.get(stack.base_url + "/calls", params={"q": bad})
        assert page.status_code == 400 and message in page.text, (bad, page.text[:300])

    export = session.get(stack.base_url + "/calls/export.csv", params={"q": "спасибо"})
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.text)))
    assert sorted(int(r[0]) for r in rows[1:]) == sorted([demo[1], demo[3]])


def test_a_viewer_finds_nothing_of_tenants_not_assigned(stack, demo):
    stack.add_user("op-search@example.com", "operator password 1", role="operator")
    session = stack.login("op-search@example.com", "operator password 1")
    page = session.get(stack.base_url + "/calls", params={"q": "refund"})
    assert page.status_code == 200 and 'data-call-id="' not in page.text
