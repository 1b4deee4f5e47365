"""Issue 4 end to end: Setup and Applications against the fake Voximplant and ElevenLabs,
through real nginx and in a real browser."""

import re
import pytest
import requests

from browser import By, EC, sign_in, wait
from selenium.webdriver.support.ui import Select
from conftest import ADMIN
from fakes import EL_API_KEY, VOX_ACCOUNT_ID, VOX_API_KEY, Fakes
from stack import Stack, csrf_from


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    fakes = Fakes(sessions=0)  # no call history: syncs import nothing here
    s = Stack(tmp_path_factory.mktemp("setup"), VOXFCGI_VOXIMPLANT_URL=fakes.voximplant,
              VOXFCGI_ELEVENLABS_URL=fakes.elevenlabs, VOXFCGI_PUBLIC_URL="https://voice.example.com")
    try:
        s.add_user(*ADMIN)
        s.start()
        yield s, fakes
    finally:
        s.stop()
        fakes.stop()


def test_browser_sets_up_and_deploys_an_application(world, browser):
    stack, fakes = world
    browser.delete_all_cookies()
    sign_in(browser, stack.base_url, *ADMIN)
    browser.get(stack.base_url + "/setup")

    form = browser.find_element(By.ID, "add-account")
    form.find_element(By.NAME, "name").send_keys("Acme voice")
    form.find_element(By.NAME, "account_id").send_keys(VOX_ACCOUNT_ID)
    form.find_element(By.NAME, "api_key").send_keys(VOX_API_KEY)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#accounts tbody tr")))
    row = browser.find_element(By.CSS_SELECTOR, "#accounts tbody tr").text
    assert "Acme voice" in row and "1111" in row and VOX_API_KEY not in browser.page_source

    browser.find_element(By.CSS_SELECTOR, "#accounts .test-connection").click()
    notice = wait(browser).until(EC.presence_of_element_located((By.ID, "notice"))).text
    assert "acme-voice" in notice and "523.75" in notice and "₽" in notice

    form = browser.find_element(By.ID, "add-key")
    form.find_element(By.NAME, "name").send_keys("Main key")
    form.find_element(By.NAME, "api_key").send_keys(EL_API_KEY)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#keys tbody tr")))
    assert EL_API_KEY not in browser.page_source

    browser.get(stack.base_url + "/applications/new")
    form = browser.find_element(By.ID, "create-application")
    numbers = [o.text for o in form.find_elements(By.CSS_SELECTOR, "select[name=number] option")]
    assert "+7 495 123-45-67" in numbers  # listed live from the fake Voximplant
    # The agents are listed live from the key: pick one instead of typing its id.
    picker = Select(form.find_element(By.ID, "agent-picker"))
    assert [o.text for o in picker.options] == ["Legacy phone agent (agent_legacy_3)", "Sales agent (agent_sales_2)",
                                                "Support agent (agent_support_1)"]
    # Secure storage is recommended, but off by default for an account with only an API key:
    # its downloads could not carry a service-account token.
    secure = form.find_element(By.NAME, "secure_record_storage")
    assert not secure.is_selected()
    secure.click()
    form.find_element(By.NAME, "name").send_keys("Support line")
    picker.select_by_value("agent_support_1")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser).until(EC.presence_of_element_located((By.ID, "scenario-code")))
    assert browser.find_element(By.ID, "agent-name").text == "Support agent"
    code = browser.find_element(By.ID, "scenario-code").text
    assert "require(Modules.ElevenLabs)" in code and "https://voice.example.com/api/webhook/voximplant" in code
    assert EL_API_KEY not in code and "VOXFCGI_WEBHOOK_SECRET" in code  # no secret: read from Voximplant

    browser.find_element(By.ID, "copy-code").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "copy-status"), "Copied"))
    copied = int(browser.find_element(By.ID, "copy-code").get_attribute("data-copied-length"))
    assert copied > len(code) - 200  # the complete scenario

    browser.find_element(By.CSS_SELECTOR, "#deploy button").click()
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#deploy-steps li")))
    steps = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#deploy-steps li")]
    assert len(steps) == 5 and all(step.startswith("✓") for step in steps), steps
    assert "secure record storage" in steps[1]
    assert browser.find_element(By.ID, "application-status").text == "deployed"
    methods = [entry["method"] for entry in fakes.log()]
    assert methods == ["AddScenario", "AddApplication", "AddSecret", "AddSecret", "AddRule", "BindPhoneNumberToApplication"]
    bind = fakes.log()[-1]
    assert bind["phone_number"] == "74951234567"
    # The secrets the scenario reads are on the Voximplant application, with their values.
    stored = {entry["secret_name"]: entry["secret_value"] for entry in fakes.get("/_control/secrets")}
    assert stored["VOXFCGI_ELEVENLABS_API_KEY"] == EL_API_KEY and len(stored["VOXFCGI_WEBHOOK_SECRET"]) == 43

    # Deploying again updates the scenario and the secrets, and keeps the application and rule.
    browser.find_element(By.CSS_SELECTOR, "#deploy button").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "deploy-steps"), "updated"))
    assert [entry["method"] for entry in fakes.log()][6:] == ["SetScenarioInfo", "SetApplicationInfo", "SetSecretInfo",
                                                              "SetSecretInfo", "BindPhoneNumberToApplication"]
    assert fakes.log()[1]["secure_record_storage"] is True and fakes.log()[7]["secure_record_storage"] == "true"

    # An agent id the key does not have (a form posted by hand) is refused with a message.
    session = stack.login(*ADMIN)
    form = session.get(stack.base_url + "/applications/new").text
    refused = session.post(stack.base_url + "/applications", data={
        "_csrf": csrf_from(form), "account": re.search(r'name="account" value="(\d+)"', form).group(1),
        "key": re.search(r'name="key" value="(\d+)"', form).group(1), "name": "Typo", "number": "74951234567",
        "agent": "agent_nope"})
    assert refused.status_code == 422 and "no agent “agent_nope”" in refused.text


def test_secrets_never_in_data_file_or_log(world):
    stack, _ = world
    data = (stack.data / "lmdb" / "data.mdb").read_bytes()
    for secret in (VOX_API_KEY, EL_API_KEY):
        assert secret.encode() not in data
        assert secret not in stack.log()


def test_wrong_key_shows_the_reason(world):
    stack, _ = world
    session = stack.login(*ADMIN)
    page = session.get(stack.base_url + "/setup")
    # The fake's account is connected already, and a Voximplant account is connected once:
    again = session.post(stack.base_url + "/setup/accounts", data={
        "_csrf": csrf_from(page.text), "name": "Again", "account_id": VOX_ACCOUNT_ID, "api_key": "definitely-wrong-key"})
    assert again.status_code == 422 and "already connected" in again.text
    # Another account id, which the fake knows no key for (it answers Voximplant's error 100).
    response = session.post(stack.base_url + "/setup/accounts", data={
        "_csrf": csrf_from(page.text), "name": "Wrong", "account_id": "7654321", "api_key": "definitely-wrong-key"},
        allow_redirects=True)
    assert response.status_code == 200
    import re
    ids = re.findall(r'data-account-id="(\d+)"', response.text)
    result = session.post(stack.base_url + f"/setup/accounts/{ids[-1]}/test", data={"_csrf": csrf_from(response.text)})
    assert result.status_code == 502
    assert "wrong API key" in result.text
    bad = session.post(stack.base_url + "/setup/accounts", data={"_csrf": csrf_from(result.text), "name": "", "account_id": "abc", "api_key": "x"})
    assert bad.status_code == 422 and "Give the account a name" in bad.text
