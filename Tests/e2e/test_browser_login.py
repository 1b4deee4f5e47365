"""Issue 2 in a real browser: headless Chromium signs in through the form."""

from browser import By, EC, sign_in, wait
from conftest import ADMIN


def test_browser_signs_in_and_sees_home(stack, browser):
    browser.delete_all_cookies()
    browser.get(stack.base_url + "/")
    assert browser.current_url.endswith("/login")
    sign_in(browser, stack.base_url, *ADMIN)
    assert browser.find_element(By.ID, "signed-in-user").text == ADMIN[0]
    assert "Next step" in browser.find_element(By.TAG_NAME, "main").text
    # The stylesheet from nginx applied: the top bar is dark, not the browser default.
    bar = browser.find_element(By.CSS_SELECTOR, ".topbar")
    assert bar.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"


def test_browser_wrong_password_shows_error(stack, browser):
    browser.delete_all_cookies()
    browser.get(stack.base_url + "/login")
    browser.find_element(By.NAME, "email").send_keys(ADMIN[0])
    browser.find_element(By.NAME, "password").send_keys("definitely wrong")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    error = wait(browser).until(EC.presence_of_element_located((By.ID, "login-error")))
    assert "Wrong email or password" in error.text


def test_browser_signs_out(stack, browser):
    browser.delete_all_cookies()
    sign_in(browser, stack.base_url, *ADMIN)
    browser.find_element(By.CSS_SELECTOR, "form[action='/logout'] button").click()
    wait(browser).until(EC.url_contains("/login"))
    browser.get(stack.base_url + "/")
    assert browser.current_url.endswith("/login")
