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


def test_bulk_zip_of_three_selected_calls_holds_their_recordings_transcripts_and_a_csv(stack, browser, demo):
    import zipfile
    browser.get(stack.base_url + "/calls")
    if "/login" in browser.current_url:  # this module's browser may be signed in already
        sign_in(browser, stack.base_url, *ADMIN)
        browser.get(stack.base_url + "/calls")
    chosen = demo[:3]
    for call_id in chosen:
        browser.find_element(By.CSS_SELECTOR, f'#calls-table input[type=checkbox][value="{call_id}"]').click()
    # What the ZIP button would send: the ticked boxes belong to the export form.
    sent = browser.execute_script(
        "return Array.from(new FormData(document.getElementById('bulk-export')).entries());")
    assert sorted(int(v) for k, v in sent if k == "id") == sorted(chosen)
    fields = dict((k, v) for k, v in sent if k != "id")

    session = stack.login(*ADMIN)
    response = session.get(stack.base_url + "/calls/export.zip", params=[("id", str(i)) for i in chosen], stream=True)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/zip"
    assert "chunked" in response.headers.get("Transfer-Encoding", "") or "Content-Length" not in response.headers
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    names = archive.namelist()
    recordings = [n for n in names if n.startswith("recordings/")]
    transcripts = [n for n in names if n.startswith("transcripts/")]
    assert len(recordings) == 3 and all(n.endswith(".wav") for n in recordings)
    assert sorted(transcripts) == sorted(f"transcripts/call-{i}.txt" for i in chosen)
    for name in recordings:
        assert archive.read(name)[:4] == b"RIFF"
        call_id = int(re.search(r"call-(\d+)\.wav$", name).group(1))
        assert archive.read(name) == session.get(stack.base_url + f"/recordings/{call_id}").content
    refund = archive.read(f"transcripts/call-{demo[0]}.txt").decode()
    assert "refund" in refund and re.search(r"^\[0:\d\d\] (Agent|Caller): ", refund, re.M)
    rows = list(csv.reader(io.StringIO(archive.read("calls.csv").decode())))
    assert rows[0][0] == "call_id" and sorted(int(r[0]) for r in rows[1:]) == sorted(chosen)

    # "All matching": the filter comes along (here: a search), ids do not.
    all_matching = session.get(stack.base_url + "/calls/export.zip", params={**fields, "all": "1", "q": "спасибо"})
    assert all_matching.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(all_matching.content)).namelist()
    assert sorted(n for n in names if n.startswith("transcripts/")) == sorted(f"transcripts/call-{i}.txt" for i in (demo[1], demo[3]))

    # Hostile: nothing, junk, too many, signed out, another tenant's.
    zip_url = stack.base_url + "/calls/export.zip"
    assert session.get(zip_url).status_code == 400
    assert session.get(zip_url, params={"id": "1 OR 1"}).status_code == 400
    assert session.get(zip_url, params=[("id", str(i)) for i in range(1, 300)]).status_code == 400
    assert requests.get(zip_url, params={"id": str(demo[0])}, allow_redirects=False).status_code in (303, 401)
    stack.add_user("op-zip@example.com", "operator password 1", role="operator")
    other = stack.login("op-zip@example.com", "operator password 1")
    denied = other.get(zip_url, params={"id": str(demo[0])})
    assert denied.status_code == 404 and b"RIFF" not in denied.content
    audit = session.get(stack.base_url + "/audit").text
    assert "ZIP of 3 calls (3 recordings, 3 transcripts)" in audit
