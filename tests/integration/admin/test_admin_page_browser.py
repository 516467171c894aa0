"""The admin page in headless Chromium against the local OIDC stand-in: log in as the Rennes agent (code +
PKCE through oidc-client-ts), decide an act, see the audit entry — plus basic accessibility checks.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install -y chromium chromium-driver``);
skipped with that reason when they are absent. Nothing is downloaded: the driver is given by path.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from admin_scenario import RENNES

from regate.storage import layout
from regate_local.oidc_sim import DEMO_AUDIENCE, DEMO_CLIENT_ID, OidcSimulator
from regate_local.serve.admin import make_admin_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)


@pytest.fixture()
def browser(tmp_path: Path):
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()) or shutil.which("chromedriver") is None:
        pytest.skip("Chromium absent : apt-get update && apt-get install -y chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture()
def site(chain, s3_client):
    with OidcSimulator() as sim:
        settings = chain["settings"].model_copy(
            update={
                "admin_oidc_issuer": sim.issuer,
                "admin_oidc_audience": DEMO_AUDIENCE,
                "admin_oidc_client_id": DEMO_CLIENT_ID,
            }
        )
        server = make_admin_server(settings, s3_client=s3_client)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        origin = f"http://127.0.0.1:{server.server_address[1]}"
        sim.register_client(DEMO_CLIENT_ID, [f"{origin}/admin/v1/"], [origin])
        try:
            yield {"url": f"{origin}/admin/v1/", "origin": origin, "sim": sim, "curated": chain["curated"]}
        finally:
            server.shutdown()
            server.server_close()


def test_agent_logs_in_decides_and_sees_the_audit_entry(browser, site):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 20)
    try:
        _scenario(browser, site, wait, By, ec, Select)
    except Exception:
        logs = browser.get_log("browser") if hasattr(browser, "get_log") else []
        print(
            "URL", browser.current_url, "STATUT", browser.find_element(By.TAG_NAME, "body").text[:800], logs
        )
        raise


def _scenario(browser, site, wait, By, ec, Select):
    browser.get(site["url"])
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    wait.until(ec.visibility_of_element_located((By.ID, "connexion"))).click()
    # the stand-in's login form
    wait.until(ec.visibility_of_element_located((By.ID, "username"))).send_keys("agent.rennes")
    browser.find_element(By.ID, "password").send_keys("agent")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # back on the page, logged in: the queue of Rennes
    row = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "tr[data-id-d='DelibQ01']")))
    assert "Bruno Le Goff" in browser.find_element(By.ID, "utilisateur").text
    ids = {r.get_attribute("data-id-d") for r in browser.find_elements(By.CSS_SELECTOR, "#actes tbody tr")}
    assert "IndivQ03" not in ids and "BruzQ01" not in ids  # no acte individuel, no other SIREN
    # accessibility basics: every visible control has a label, the live region exists
    unlabelled = browser.execute_script(
        "return Array.from(document.querySelectorAll('input,select,button'))"
        ".filter(e => e.offsetParent !== null)"
        ".filter(e => e.tagName === 'BUTTON' ? !(e.textContent.trim() || e.getAttribute('aria-label'))"
        " : !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.id || e.outerHTML)"
    )
    assert unlabelled == []
    assert browser.find_element(By.ID, "statut").get_attribute("role") == "status"
    # decide with the keyboard-reachable controls of the row
    Select(row.find_element(By.CSS_SELECTOR, "select.decision")).select_by_value("publier")
    row.find_element(By.CSS_SELECTOR, "input.motif").send_keys("Vérifié avec le secrétariat")
    row.find_element(By.CSS_SELECTOR, "button.enregistrer").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "statut"), "enregistrée"))
    assert browser.switch_to.active_element.get_attribute("id") == "statut"  # focus on the result
    # the act left the queue; the journal shows the change
    wait.until(ec.invisibility_of_element_located((By.CSS_SELECTOR, "tr[data-id-d='DelibQ01']")))
    browser.find_element(By.ID, "onglet-journal").click()
    entry = wait.until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#table-journal tbody tr td:nth-child(2)"))
    )
    assert entry.text == "Bruno Le Goff (Ville de Rennes)"
    first = browser.find_element(By.CSS_SELECTOR, "#table-journal tbody tr").text
    assert "Vérifié avec le secrétariat" in first and "publier" in first
    # the decision and its audit entry are in the bucket
    curated = site["curated"]
    stored = curated.get_json(layout.admin_acte_decision_key(RENNES, "12", "DelibQ01"))
    assert stored["decision"] == "publier" and stored["trace"]["modifie_par"]["nom"].startswith("Bruno")
    [audit_key] = list(curated.list_keys(layout.ADMIN_AUDIT_PREFIX))
    assert curated.get_json(audit_key)["auteur"]["sub"] == site["sim"].users["agent.rennes"].sub
    # nothing was loaded from outside the page's origin and the identity provider
    origins = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => new URL(e.name).origin)"
    )
    assert set(origins) <= {site["origin"], site["sim"].base_url}
