"""examples/README.md is true: every file goes where the README says, and from there the apps find it.

mViewer fetches a relative ``<template url>`` (and the ``?config=`` file) against the page, i.e. the
folder of its ``index.html`` — not against the XML. ``examples/mviewer/`` mirrors that folder.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urljoin, urlsplit

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
README = (EXAMPLES / "README.md").read_text()
MVIEWER_ROOT = EXAMPLES / "mviewer"
#: where an operator may install mViewer: the page's URL, as the browser resolves relative URLs
INDEX_URLS = ("https://mviewer.example.org/index.html", "https://geo.example.org/mviewer/index.html")


def _table(heading: str) -> list[tuple[str, str]]:
    section = README.split(heading, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)`[^|]*\| `([^`]+)` \|$", section, flags=re.M)


def _from_index(url: str, index_url: str) -> Path:
    """The file a browser on ``index_url`` fetches for a relative ``url``, in the mirrored tree."""
    base = urlsplit(index_url).path.rsplit("/", 1)[0] + "/"
    path = urlsplit(urljoin(index_url, url)).path
    assert path.startswith(base), (url, path)
    return MVIEWER_ROOT / path[len(base) :]


def test_mviewer_files_go_where_the_readme_says() -> None:
    rows = _table("## mViewer")
    assert len(rows) == 2
    for source, destination in rows:
        assert (EXAMPLES.parent / source).is_file(), source
        # the destination, relative to index.html, is the file's place in the mirrored tree
        assert (MVIEWER_ROOT / destination).resolve() == (EXAMPLES.parent / source).resolve()


def test_mviewer_finds_the_template_and_the_config_from_index_html() -> None:
    xml = (MVIEWER_ROOT / "apps/regate_deliberations.xml").read_text()
    root = ET.fromstring(xml)
    (template,) = [t.get("url") for t in root.iter("template")]
    destinations = {d for _, d in _table("## mViewer")}
    assert template in destinations  # the README names the place the XML points at
    config = re.search(r"\?config=([^\s`)]+)", README).group(1)
    assert config in destinations
    for index_url in INDEX_URLS:
        found = _from_index(template, index_url)
        assert found.is_file() and found.suffix == ".mst", (index_url, found)
        assert found.read_text().startswith("{{#features}}")
        assert _from_index(config, index_url).is_file()
    # the way the app used to say it ("templates/…", relative to the XML) finds nothing from index.html
    assert not _from_index("templates/deliberations.mst", INDEX_URLS[0]).exists()
    # the XML's own comment gives the same place
    comment = xml.split("<!--", 1)[1].split("-->", 1)[0]
    assert f"-> {template}" in comment and f"?config={config}" in comment


def test_mreport_folder_holds_what_mreport_fetches() -> None:
    rows = _table("## mReport")
    assert [d for _, d in rows] == [
        "backend/reports/deliberations/",
        "backend/reports/marches/",
        "backend/reports/budgets/",
    ]
    for source, destination in rows:
        folder = EXAMPLES.parent / source
        assert folder.name == destination.rstrip("/").rsplit("/", 1)[1]  # the report's name is the folder's
        # report.js fetches config.json, report.html, report.css and custom.css from the report folder
        assert {p.name for p in folder.iterdir()} >= {
            "config.json",
            "report.html",
            "report.css",
            "custom.css",
        }
