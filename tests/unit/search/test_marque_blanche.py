"""The white-label page's themes pass WCAG AA (contrast computed here, independently of the module), a
custom colour is adjusted until it does, and the page's parameters keep the reference's names."""

from __future__ import annotations

import re
from datetime import date

import pytest

from regate.api import marque_blanche as mb
from regate.api.errors import ApiError
from regate.api.params import parse_params

REFERENCE_THEMES = {
    "defaut",
    "vert-tours",
    "rouge-rennes",
    "turquoise-ille-et-vilaine",
    "jaune-eurelien",
    "orange-orleans",
    "gris-neutre",
}
WHITE = "#ffffff"


def _lum(colour: str) -> float:  # WCAG 2.1 relative luminance, written again on purpose
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def ratio(a: str, b: str) -> float:
    la, lb = sorted((_lum(a), _lum(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_ratio_matches_known_values() -> None:
    assert ratio("#000000", WHITE) == pytest.approx(21.0)
    assert ratio("#767676", WHITE) == pytest.approx(4.54, abs=0.01)
    assert ratio(WHITE, WHITE) == pytest.approx(1.0)


def _assert_aa(theme: mb.Theme) -> None:
    assert ratio(theme.on_primary, theme.primary) >= 4.5, theme  # button and header text
    assert ratio(theme.link, WHITE) >= 4.5, theme  # links, summary, secondary buttons
    assert ratio(theme.link, WHITE) >= 3.0, theme  # focus ring and button border (UI components)
    assert ratio(mb.INK, WHITE) >= 4.5


def test_the_reference_themes_all_exist_and_pass_aa() -> None:
    assert set(mb.THEMES) >= REFERENCE_THEMES
    for theme in mb.THEMES.values():
        _assert_aa(theme)


@pytest.mark.parametrize("colour", ["ffd700", "f2c200", "ffffff", "000000", "777777", "e67f7b", "00a0e0"])
def test_a_custom_colour_is_adjusted_until_aa(colour: str) -> None:
    theme = mb.custom_theme(colour)
    assert theme.primary == "#" + colour or ratio(theme.primary, "#" + colour) < 1.6  # kept, or nearly
    _assert_aa(theme)


def test_hard_coded_colours_of_the_stylesheet_are_readable_on_white() -> None:
    css = mb.asset("page.css")
    for colour in re.findall(r"(?<![-\w])color:(#[0-9a-fA-F]{6})", css):
        assert ratio(colour, WHITE) >= 4.5, colour
    assert ratio("#1b1b1b", "#fff0a8") >= 4.5  # <mark>
    for border in re.findall(r"border:\d+px solid (#[0-9a-fA-F]{6})", css):
        assert ratio(border, WHITE) >= 3.0, border  # form field borders (RGAA 3.3)


def test_reference_parameter_names_and_iso_datetimes() -> None:
    params = parse_params(
        mb.MarqueBlancheParams,
        {
            "siren": ["213502388"],
            "theme": ["jaune-eurelien"],
            "recherche": ["cantine"],
            "types_actes": ["1,2"],
            "classifications": ["7,8.1"],
            "date_debut": ["2024-01-01T00:00:00.000Z"],
            "date_fin": ["2024-12-31"],
            "publications_en_cours": ["true"],
            "thematique": ["urbanisme"],
            "debug": ["1"],
        },
    )
    assert params.date_debut == date(2024, 1, 1) and params.types_actes == [1, 2]
    filters = mb.filters_of(params, today=date(2024, 6, 1))
    assert filters.natures == (1, 2) and set(filters.matieres) == {"7", "8.1", "2", "8.4", "8.5"}
    assert filters.date_publication_debut == date(2024, 3, 31)  # 62 days


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ({"siren": ["1234"]}, "siren"),
        ({"theme": ["fluo"]}, "theme"),
        ({"couleur": ["red"]}, "couleur"),
        ({"types_actes": ["99"]}, "types_actes"),
        ({"classifications": ["7.x"]}, "classifications"),
        ({"date_debut": ["hier"]}, "date_debut"),
        ({"recherche": ["x" * 201]}, "recherche"),
    ],
)
def test_bad_parameters_are_refused_with_their_name(raw: dict, name: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_params(mb.MarqueBlancheParams, raw)
    assert caught.value.status == 422 and caught.value.details == {"parametre": name}


def test_page_escapes_everything_and_headers_forbid_third_parties() -> None:
    from regate.search.engine import SearchHit, SearchResult, Snippet

    hit = SearchHit(
        acte_id="a1",
        siren="213502388",
        score=1.0,
        objet="<script>alert(1)</script> cantine",
        correspond_objet=True,
        extrait_objet=Snippet(texte="<script>alert(1)</script> cantine", surlignages=[(26, 33)]),
        annexe_seule=False,
    )
    params = mb.MarqueBlancheParams(recherche='"><img src=x onerror=alert(1)>')
    body, headers = mb.render_page(
        params, SearchResult(total=1, hits=[hit]), "Ville <b>", "https://x.example"
    )
    assert "<script>alert" not in body and "<img src=x" not in body and "Ville &lt;b&gt;" in body
    assert "<mark>cantine</mark>" in body and '<html lang="fr">' in body
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "http" not in policy.replace("frame-ancestors *", "")
    assert "googleapis" not in body and "@import" not in body and "url(" not in mb.asset("page.css")
