"""The white-label page in headless Chromium against the API server (``regate serve``'s ``serve_api``) over a
normalised chain with real PDFs: search (a word only in a PDF, one only in a scanned annex), filters, paging,
a theme, the snippet generator; no console error, no request outside the page's origin, axe-core finds no
violation. Screenshots are kept in ``tests/artefacts/marque-blanche/`` (gitignored).

Needs Debian's ``chromium`` and ``chromium-driver``; skipped with that reason when they are absent. Nothing
is downloaded: the driver is given by path and axe-core is vendored in ``tests/fixtures/search/vendor``.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_chain import CANTINE_ACTS, MAIN_NUMERO, RENNES, WITHHELD_WORD, seed

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
    "--window-size=1100,1400",
)
REPO = Path(__file__).resolve().parents[3]
AXE = REPO / "tests" / "fixtures" / "search" / "vendor" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
ARTEFACTS = REPO / "tests" / "artefacts" / "marque-blanche"


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
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture()
def site(raw_store, curated_store, settings, tmp_path: Path):
    from regate_local.serve.server import serve_api

    settings = settings.model_copy(
        update={
            "search_cache_dir": str(tmp_path / "search"),
            "api_cache_dir": str(tmp_path / "api"),
            "search_shards": 2,
            "search_manifest_ttl_seconds": 0,
        }
    )
    report = seed(raw_store, curated_store, settings)
    assert report.errors == []
    server = serve_api(settings, "127.0.0.1", 0, verbose=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()


def _axe(browser) -> list[dict]:
    source = AXE.read_text(encoding="utf-8")
    assert hashlib.sha256(source.encode()).hexdigest() == AXE_SHA256  # the vendored file, unchanged
    browser.execute_script(source)
    result = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map("
        "v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))))"
        ".catch(e => done([{id: 'axe-error', impact: String(e), nodes: []}]));"
    )
    return result


def _console_errors(browser) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def _origins(browser) -> set[str]:
    return set(
        browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => new URL(e.name).origin)"
            ".concat([location.origin])"
        )
    )


def _shot(browser, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTEFACTS / f"{name}.png"))


def test_white_label_page_search_filters_paging_theme_and_accessibility(browser, site) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 20)
    origin = site
    browser.get(f"{origin}/v1/marque-blanche?siren={RENNES}&theme=rouge-rennes")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    count = browser.find_element(By.ID, "nb-resultats")
    assert count.get_attribute("role") == "status"
    assert count.text == f"{CANTINE_ACTS + 1} actes publiés"  # the withheld act is not counted
    header = browser.find_element(By.CSS_SELECTOR, ".entete")
    assert header.value_of_css_property("background-color") in ("rgba(176, 33, 27, 1)", "rgb(176, 33, 27)")
    _shot(browser, "01-accueil-rouge-rennes")
    assert _axe(browser) == []

    # keyboard: the first Tab reaches the skip link, with a visible focus
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    active = browser.switch_to.active_element
    assert active.get_attribute("class") == "evitement"
    assert active.value_of_css_property("outline-style") != "none"

    # a word only inside the main PDF, typed and submitted with the keyboard
    box = browser.find_element(By.ID, "recherche")
    box.send_keys("xylophonique", Keys.ENTER)
    wait.until(ec.text_to_be_present_in_element((By.ID, "nb-resultats"), "1 acte trouvé"))
    article = browser.find_element(By.CSS_SELECTOR, ".resultats article")
    assert MAIN_NUMERO in article.text
    assert browser.find_element(By.CSS_SELECTOR, ".documents mark").text.lower() == "xylophonique"

    # a word only in the scanned annex: the act, with its annex flagged
    box = browser.find_element(By.ID, "recherche")
    box.clear()
    box.send_keys("ornithorynques", Keys.ENTER)
    wait.until(ec.text_to_be_present_in_element((By.ID, "nb-resultats"), "1 acte trouvé"))
    article = browser.find_element(By.CSS_SELECTOR, ".resultats article")
    assert "Présent car au moins une annexe correspond" in article.text
    annex = article.find_elements(By.CSS_SELECTOR, ".documents li")[1]
    assert "annexe" in annex.text and "contient les mots recherchés" in annex.text
    assert annex.find_element(By.TAG_NAME, "mark").text.lower() == "ornithorynques"
    link = annex.find_element(By.TAG_NAME, "a").get_attribute("href")
    assert "/v1/documents/" in link
    _shot(browser, "02-annexe-scannee")
    assert _axe(browser) == []

    # withheld: never found
    box = browser.find_element(By.ID, "recherche")
    box.clear()
    box.send_keys(WITHHELD_WORD, Keys.ENTER)
    wait.until(ec.text_to_be_present_in_element((By.ID, "nb-resultats"), "0 acte trouvé"))
    assert WITHHELD_WORD not in browser.find_element(By.ID, "resultats").text

    # paging: 10 + 10 + 3, each act once, then the end
    box = browser.find_element(By.ID, "recherche")
    box.clear()
    box.send_keys("cantine", Keys.ENTER)
    wait.until(ec.text_to_be_present_in_element((By.ID, "nb-resultats"), f"{CANTINE_ACTS} actes trouvés"))
    seen: list[str] = []
    for _page in range(5):
        seen += [
            a.get_attribute("aria-labelledby")
            for a in browser.find_elements(By.CSS_SELECTOR, ".acte article")
        ]
        following = browser.find_elements(By.LINK_TEXT, "Résultats suivants")
        if not following:
            break
        following[0].click()
        wait.until(ec.staleness_of(following[0]))
    assert len(seen) == len(set(seen)) == CANTINE_ACTS
    assert "fin des résultats" in browser.find_element(By.CSS_SELECTOR, ".pages").text
    _shot(browser, "03-derniere-page")

    # filters: nature + matière prefix from the form (keyboard-reachable controls)
    browser.get(f"{origin}/v1/marque-blanche?siren={RENNES}&theme=jaune-eurelien&recherche=cantine")
    browser.find_element(By.CSS_SELECTOR, "details summary").click()
    browser.find_element(By.CSS_SELECTOR, "label[for=nature-1]").click()
    Select(browser.find_element(By.ID, "classifications")).select_by_value("8")
    browser.find_element(By.CSS_SELECTOR, "form[role=search] button[type=submit]").click()
    expected = len(range(1, CANTINE_ACTS, 3))
    wait.until(ec.text_to_be_present_in_element((By.ID, "nb-resultats"), f"{expected} actes trouvés"))
    assert "types_actes=1" in browser.current_url and "classifications=8" in browser.current_url
    details = [d.text for d in browser.find_elements(By.CSS_SELECTOR, ".details")]
    assert details and all("Matière : 8." in d for d in details)
    _shot(browser, "04-filtres-jaune-eurelien")
    assert _axe(browser) == []

    # date ranges (act date, publication date) from the URL: the form shows them, results obey them
    browser.get(
        f"{origin}/v1/marque-blanche?siren={RENNES}&recherche=cantine&date_debut=2024-03-01"
        "&date_fin=2024-03-31T00:00:00.000Z&date_de_publication_debut=2024-03-05"
    )
    assert browser.find_element(By.ID, "date_fin").get_attribute("value") == "2024-03-31"
    dates = [p.text for p in browser.find_elements(By.CSS_SELECTOR, ".acte .dates")]
    assert dates and all("mars 2024" in d.split(",")[0] for d in dates)

    assert _console_errors(browser) == []
    assert _origins(browser) == {origin}

    # a bad filter: a French message in the page (status 422, the only console line), not a JSON error
    browser.get(f"{origin}/v1/marque-blanche?siren={RENNES}&types_actes=99")
    assert "nature inconnue" in browser.find_element(By.CSS_SELECTOR, ".erreur").text
    assert [m for m in _console_errors(browser) if "status of 422" not in m] == []


def test_snippet_generator_builds_an_iframe_with_a_descriptive_title(browser, site) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    origin = site
    browser.get(f"{origin}/v1/marque-blanche?generateur=true&siren={RENNES}")
    code = browser.find_element(By.ID, "g-code")
    assert 'title="Recherche dans les actes publiés de' in code.get_attribute("value")
    Select(browser.find_element(By.ID, "g-theme")).select_by_value("vert-tours")
    WebDriverWait(browser, 10).until(
        lambda b: "theme=vert-tours" in b.find_element(By.ID, "g-code").get_attribute("value")
    )
    preview = browser.find_element(By.ID, "g-apercu")
    WebDriverWait(browser, 10).until(lambda b: "theme=vert-tours" in preview.get_attribute("src"))
    browser.find_element(By.ID, "g-copier").click()
    WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "g-statut").text != "")
    _shot(browser, "05-generateur")
    assert _axe(browser) == []
    browser.switch_to.frame(preview)
    WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.ID, "nb-resultats"))
    assert browser.find_element(By.CSS_SELECTOR, ".entete").value_of_css_property("background-color") in (
        "rgba(43, 101, 48, 1)",
        "rgb(43, 101, 48)",
    )
    browser.switch_to.default_content()
    assert _console_errors(browser) == []
    assert {urlsplit(o).netloc for o in _origins(browser)} == {urlsplit(origin).netloc}
