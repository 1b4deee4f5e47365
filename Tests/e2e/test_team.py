"""Issue 15 in a real browser: an admin invites an operator and a viewer from the Team page;
each sets a password through their one-time link and signs in; the viewer sees the
operator's calls and can change nothing; the operator enrols two-factor sign-in and signs in
with a code; the admin disables the operator, whose open session ends at once; the Audit page
lists all of it."""

import base64
import hashlib
import hmac
import re
import struct
import time

import requests

from browser import By, EC, sign_in, wait
from conftest import ADMIN
from stack import csrf_from

OPERATOR = "olga.operator@example.com"
VIEWER = "victor.viewer@example.com"
OPERATOR_PASSWORD = "purple rain over the harbour"
VIEWER_PASSWORD = "seven quiet lanterns at dusk"


def totp(secret_base32, at=None):
    """RFC 6238 (SHA-1, 6 digits, 30 s), independently of the server's code."""
    key = base64.b32decode(secret_base32.replace(" ", "").upper() + "=" * (-len(secret_base32.replace(" ", "")) % 8))
    counter = int((at or time.time()) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000)


def invite(browser, base, email, role, watches=()):
    browser.get(base + "/team")
    form = browser.find_element(By.ID, "invite")
    form.find_element(By.NAME, "email").send_keys(email)
    form.find_element(By.CSS_SELECTOR, f"select[name=role] option[value={role}]").click()
    for label in watches:
        form.find_element(By.XPATH, f".//label[contains(., '{label}')]/input").click()
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    return wait(browser).until(EC.presence_of_element_located((By.ID, "invite-link"))).text


def choose_password(browser, base, link, password):
    browser.delete_all_cookies()
    browser.get(base + link[link.index("/invite/"):])
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.NAME, "confirm").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "#choose-password button[type=submit]").click()
    wait(browser).until(EC.presence_of_element_located((By.ID, "login-welcome")))


def session_of(browser):
    """A requests session holding the browser's cookies: the same signed-in session."""
    session = requests.Session()
    for cookie in browser.get_cookies():
        session.cookies.set(cookie["name"], cookie["value"])
    return session


def test_a_team_is_run_from_the_panel(stack, browser):
    base = stack.base_url
    browser.delete_all_cookies()
    sign_in(browser, base, *ADMIN)

    op_link = invite(browser, base, OPERATOR, "operator")
    assert re.search(r"/invite/[A-Za-z0-9_-]{43}$", op_link)
    choose_password(browser, base, op_link, OPERATOR_PASSWORD)
    stack.cli("seed-demo", "--calls", "30", "--days", "5", "--email", OPERATOR, "--seed", "3")

    browser.delete_all_cookies()
    sign_in(browser, base, *ADMIN)
    viewer_link = invite(browser, base, VIEWER, "viewer", watches=[OPERATOR])
    # The link works once: used, it is gone.
    choose_password(browser, base, viewer_link, VIEWER_PASSWORD)
    browser.get(base + viewer_link[viewer_link.index("/invite/"):])
    assert "expired or was already used" in browser.find_element(By.TAG_NAME, "main").text

    # The viewer sees the operator's 30 calls and nothing to change.
    sign_in(browser, base, VIEWER, VIEWER_PASSWORD)
    browser.get(base + "/calls")
    assert "30 calls" in browser.find_element(By.ID, "result-count").text
    assert not browser.find_elements(By.ID, "sync-now")
    nav = [a.get_attribute("href").rsplit("/", 1)[-1] for a in browser.find_elements(By.CSS_SELECTOR, ".nav a")]
    assert "setup" not in nav and "applications" not in nav and "team" not in nav
    viewer = session_of(browser)
    page = viewer.get(base + "/calls").text
    refused = viewer.post(base + "/calls/sync", data={"_csrf": csrf_from(page)}, allow_redirects=False)
    assert refused.status_code == 403 and "a viewer can look but not change anything" in refused.text
    assert viewer.get(base + "/setup").status_code == 403

    # The operator enrols two-factor sign-in, then signs in with password and code.
    browser.delete_all_cookies()
    sign_in(browser, base, OPERATOR, OPERATOR_PASSWORD)
    browser.get(base + "/profile")
    browser.find_element(By.CSS_SELECTOR, "#two-factor-start button").click()
    qr = wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#two-factor-qr svg")))
    assert qr.size["width"] >= 200
    secret = browser.find_element(By.ID, "two-factor-secret").text
    browser.find_element(By.CSS_SELECTOR, "#two-factor-confirm input[name=code]").send_keys(totp(secret))
    browser.find_element(By.CSS_SELECTOR, "#two-factor-confirm button").click()
    codes = wait(browser).until(EC.presence_of_all_elements_located((By.CSS_SELECTOR, "#recovery-codes li")))
    assert len(codes) == 10
    browser.find_element(By.CSS_SELECTOR, "form[action='/logout'] button").click()
    wait(browser).until(EC.url_contains("/login"))
    browser.find_element(By.NAME, "email").send_keys(OPERATOR)
    browser.find_element(By.NAME, "password").send_keys(OPERATOR_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    field = wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#code-form input[name=code]")))
    # The enrolment spent this step's code: the next step's is accepted (±1 step).
    field.send_keys(totp(secret, time.time() + 30))
    browser.find_element(By.CSS_SELECTOR, "#code-form button").click()
    wait(browser).until(EC.presence_of_element_located((By.ID, "signed-in-user")))
    operator = session_of(browser)
    assert operator.get(base + "/calls", allow_redirects=False).status_code == 200

    # The admin disables the operator: the open session ends at once.
    browser.delete_all_cookies()
    sign_in(browser, base, *ADMIN)
    browser.get(base + "/team")
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-email='{OPERATOR}']")
    assert "on" in row.text  # 2FA column
    row.find_element(By.CSS_SELECTOR, "button.disable").click()
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, f"tr[data-email='{OPERATOR}'] button.enable")))
    ended = operator.get(base + "/calls", allow_redirects=False)
    assert ended.status_code == 303 and ended.headers["Location"].startswith("/login")

    # The audit page lists it all.
    browser.get(base + "/audit")
    text = browser.find_element(By.ID, "audit").text
    for action in ("user-invited", "password-set", "sign-in", "2fa-enabled", "user-disabled", "sign-out"):
        assert action in text, action
    assert text.count("user-invited") == 2
    assert OPERATOR_PASSWORD not in browser.page_source and secret.replace(" ", "") not in browser.page_source
    browser.get(base + "/audit?action=user-disabled")
    rows = browser.find_elements(By.CSS_SELECTOR, "#audit tbody tr")
    assert len(rows) == 1 and OPERATOR in rows[0].text and ADMIN[0] in rows[0].text
