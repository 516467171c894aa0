"""The white-label search page: ``/v1/marque-blanche?siren=…&theme=…``, embeddable in an iframe.

One server-rendered HTML page (it works with no JavaScript: the form is a GET, paging is a link), with its
CSS and a few lines of script inlined and allowed by hash in the Content-Security-Policy — no framework, no
external font, no tracker, no third-party request. The reference's parameter names are kept so existing
iframes can switch: ``siren``, ``theme``, ``recherche``, ``types_actes``, ``classifications``,
``date_debut``, ``date_fin``, ``publications_en_cours``, ``thematique`` (plus ``date_de_publication_debut``
/ ``_fin``, ``in``, ``couleur``, ``page_suivante``). ``thematique`` is mapped to matière prefixes, not
appended to the query. ``generateur=1`` gives the operators' iframe snippet generator.

Themes are CSS custom properties from :data:`THEMES`; every one passes WCAG AA (text 4.5:1 on its
background, focus ring and borders 3:1), checked by a unit test; a custom ``couleur`` is adjusted
server-side until it does.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import Field, field_validator

from regate.actes.model import NATURES
from regate.actes.nomenclature import NIVEAU1, NIVEAU2
from regate.api.params import ApiParams, validate_sirens
from regate.search.engine import SearchFilters, SearchHit, SearchResult
from regate.storage import layout

STATIC = Path(__file__).parent / "static" / "marque-blanche"
PAGE_SIZE = 10
PUBLICATIONS_EN_COURS_DAYS = 62  # the reference's "publications en cours": about the 2-month appeal period
_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")
_MATIERE = re.compile(r"^\d(\.\d{1,2}){0,3}$")
#: ``thematique`` (the reference's three) → matière prefixes of the ACTES nomenclature
THEMATIQUES: dict[str, tuple[str, tuple[str, ...]]] = {
    "urbanisme": ("Urbanisme, aménagement, logement", ("2", "8.4", "8.5")),
    "economie": ("Économie, finances, commande publique", ("1", "7", "8.6")),
    "sante": ("Santé et action sociale", ("8.2",)),
}
IFRAME_TITLE = "Recherche dans les actes publiés de {nom}"


# ------------------------------------------------------------------------------------ themes
@dataclass(frozen=True)
class Theme:
    """``primary``: buttons and header; ``on_primary``: text on it; ``link``: links, focus ring, borders
    on the white page; ``label``: shown in the generator."""

    label: str
    primary: str
    on_primary: str
    link: str


THEMES: dict[str, Theme] = {
    "defaut": Theme("Bleu (par défaut)", "#1f4e8c", "#ffffff", "#1f4e8c"),
    "vert-tours": Theme("Vert", "#2b6530", "#ffffff", "#2b6530"),
    "rouge-rennes": Theme("Rouge", "#b0211b", "#ffffff", "#a01d18"),
    "turquoise-ille-et-vilaine": Theme("Turquoise", "#006b74", "#ffffff", "#006b74"),
    "jaune-eurelien": Theme("Jaune", "#f2c200", "#1b1b1b", "#6b5300"),
    "orange-orleans": Theme("Orange", "#a84300", "#ffffff", "#a84300"),
    "gris-neutre": Theme("Gris", "#474747", "#ffffff", "#474747"),
}
WHITE, INK = "#ffffff", "#1b1b1b"


def luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance of ``#rrggbb``."""
    value = colour.lstrip("#")
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _darken(colour: str, factor: float) -> str:
    value = colour.lstrip("#")
    return "#" + "".join(f"{round(int(value[i : i + 2], 16) * factor):02x}" for i in (0, 2, 4))


def custom_theme(colour: str) -> Theme:
    """A theme from an operator's colour, adjusted so it passes AA: the text on it is white or ink
    (whichever contrasts more; a mid tone is darkened under white text), the link colour is darkened
    until 4.5:1 on white."""
    colour = "#" + colour.lstrip("#").lower()
    on_primary = WHITE if contrast(WHITE, colour) >= contrast(INK, colour) else INK
    primary = colour
    if contrast(on_primary, primary) < 4.5:  # a mid tone: neither white nor ink reads on it
        on_primary, primary = WHITE, _readable_on_white(colour)
    return Theme("Couleur personnalisée", primary, on_primary, _readable_on_white(colour))


def _readable_on_white(colour: str) -> str:
    """``colour`` darkened just enough for 4.5:1 against white."""
    out, factor = colour, 1.0
    while contrast(out, WHITE) < 4.5 and factor > 0:
        factor = round(factor - 0.05, 2)
        out = _darken(colour, factor)
    return out


def theme_css(theme: Theme) -> str:
    return (
        f":root{{--primaire:{theme.primary};--sur-primaire:{theme.on_primary};--lien:{theme.link};"
        f"--texte:{INK};--fond:{WHITE}}}"
    )


# -------------------------------------------------------------------------------- parameters
def _iso_day(value: Any) -> Any:
    """The reference sends ``toISOString()`` (``2024-01-01T00:00:00.000Z``): keep the day."""
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ].*)?", value):
            return value[:10]
        raise ValueError("date au format AAAA-MM-JJ attendue")
    return value


class MarqueBlancheParams(ApiParams):
    """``GET /v1/marque-blanche`` (names of the reference's white label)."""

    siren: str | None = Field(default=None, description="SIREN de la collectivité (9 chiffres)")
    theme: str = Field(default="defaut", description=f"Thème : {', '.join(THEMES)}")
    couleur: str | None = Field(
        default=None, description="Couleur personnalisée `RRGGBB` (ajustée pour le contraste AA)"
    )
    recherche: str = Field(default="", max_length=200, description="Texte recherché")
    in_: Literal["objet", "documents", "both"] = Field(
        default="both", alias="in", description="Où chercher : `objet`, `documents`, `both`"
    )
    types_actes: list[int] = Field(default_factory=list, description="Natures ACTES (1–7), virgules")
    classifications: list[str] = Field(
        default_factory=list, description="Préfixes de matière (`7` ou `7.5`), virgules"
    )
    thematique: Literal["urbanisme", "economie", "sante"] | None = Field(
        default=None, description="Thématique (traduite en matières)"
    )
    date_debut: date | None = Field(default=None, description="Date de l'acte, début (AAAA-MM-JJ)")
    date_fin: date | None = Field(default=None, description="Date de l'acte, fin (AAAA-MM-JJ)")
    date_de_publication_debut: date | None = Field(default=None, description="Date de publication, début")
    date_de_publication_fin: date | None = Field(default=None, description="Date de publication, fin")
    publications_en_cours: bool = Field(
        default=False, description=f"Publiés depuis moins de {PUBLICATIONS_EN_COURS_DAYS} jours"
    )
    page_suivante: str | None = Field(default=None, max_length=200, description="Curseur de page")
    generateur: bool = Field(default=False, description="Générateur de code d'intégration (opérateurs)")
    hauteur: int = Field(default=800, ge=200, le=4000, description="Générateur : hauteur de l'iframe (px)")
    debug: str | None = Field(default=None, description="Accepté pour les anciennes URL, sans effet")

    @field_validator("siren", mode="before")
    @classmethod
    def _siren(cls, value: Any) -> Any:
        if value in (None, ""):
            return None
        return validate_sirens(value)[0]

    @field_validator("theme")
    @classmethod
    def _theme(cls, value: str) -> str:
        if value not in THEMES:
            raise ValueError(f"thème inconnu ; thèmes : {', '.join(THEMES)}")
        return value

    @field_validator("couleur", mode="before")
    @classmethod
    def _couleur(cls, value: Any) -> Any:
        if value in (None, ""):
            return None
        if not isinstance(value, str) or not _HEX.fullmatch(value.strip()):
            raise ValueError("couleur `RRGGBB` attendue (6 chiffres hexadécimaux)")
        return value.strip().lstrip("#").lower()

    @field_validator("types_actes", mode="before")
    @classmethod
    def _types(cls, value: Any) -> Any:
        values = value if isinstance(value, list) else [value]
        out = []
        for item in values:
            if str(item).strip() not in {str(n) for n in NATURES}:
                raise ValueError(f"nature inconnue « {str(item)[:10]} » (1 à 7)")
            out.append(int(str(item).strip()))
        return sorted(set(out))

    @field_validator("classifications", mode="before")
    @classmethod
    def _classifications(cls, value: Any) -> Any:
        values = [str(v).strip() for v in (value if isinstance(value, list) else [value]) if str(v).strip()]
        for item in values:
            if not _MATIERE.fullmatch(item):
                raise ValueError(f"matière « {item[:10]} » : un code comme 7 ou 7.5")
        return values

    @field_validator(
        "date_debut", "date_fin", "date_de_publication_debut", "date_de_publication_fin", mode="before"
    )
    @classmethod
    def _dates(cls, value: Any) -> Any:
        return _iso_day(value)

    @field_validator("publications_en_cours", "generateur", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> Any:
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in {"", "false", "0", "non", "no"}:
                return False
            if lowered in {"true", "1", "oui", "yes", "on"}:
                return True
            raise ValueError("`true` ou `false` attendu")
        return value

    @field_validator("thematique", mode="before")
    @classmethod
    def _thematique(cls, value: Any) -> Any:
        return None if value == "" else value


def filters_of(params: MarqueBlancheParams, today: date) -> SearchFilters:
    matieres = list(params.classifications)
    if params.thematique:
        matieres.extend(THEMATIQUES[params.thematique][1])
    publication_start = params.date_de_publication_debut
    if params.publications_en_cours:
        recent = today - timedelta(days=PUBLICATIONS_EN_COURS_DAYS)
        publication_start = max(filter(None, (publication_start, recent)))
    return SearchFilters(
        natures=tuple(params.types_actes),
        matieres=tuple(dict.fromkeys(matieres)),
        date_acte_debut=params.date_debut,
        date_acte_fin=params.date_fin,
        date_publication_debut=publication_start,
        date_publication_fin=params.date_de_publication_fin,
    )


def theme_of(params: MarqueBlancheParams) -> Theme:
    return custom_theme(params.couleur) if params.couleur else THEMES[params.theme]


# ------------------------------------------------------------------------------------ assets
@lru_cache(maxsize=8)
def asset(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def headers_for(style: str, script: str, generator: bool) -> dict[str, str]:
    """No third-party anything: only our inline style and script (by hash), forms and frames to self."""
    policy = (
        "default-src 'none'; "
        f"style-src {_csp_hash(style)}; script-src {_csp_hash(script)}; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; "
        + ("frame-src 'self'; " if generator else "")
        + "frame-ancestors *"
    )
    return {
        "Content-Security-Policy": policy,
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Content-Type-Options": "nosniff",
    }


# ------------------------------------------------------------------------------------ render
_MOIS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]


def date_fr(day: date | None) -> str:
    if day is None:
        return ""
    return f"{'1er' if day.day == 1 else day.day} {_MOIS[day.month - 1]} {day.year}"


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _query(params: MarqueBlancheParams, **changes: Any) -> str:
    """The page's own URL state (the reference's names), for paging links."""
    values: dict[str, Any] = {
        "siren": params.siren,
        "theme": params.theme if params.theme != "defaut" else None,
        "couleur": params.couleur,
        "recherche": params.recherche or None,
        "in": params.in_ if params.in_ != "both" else None,
        "types_actes": ",".join(str(n) for n in params.types_actes) or None,
        "classifications": ",".join(params.classifications) or None,
        "thematique": params.thematique,
        "date_debut": params.date_debut,
        "date_fin": params.date_fin,
        "date_de_publication_debut": params.date_de_publication_debut,
        "date_de_publication_fin": params.date_de_publication_fin,
        "publications_en_cours": "true" if params.publications_en_cours else None,
    }
    values.update(changes)
    return urlencode({k: str(v) for k, v in values.items() if v not in (None, "")})


def _matiere_label(code: str | None) -> str:
    if not code:
        return ""
    label = NIVEAU2.get(code) or NIVEAU1.get(code.split(".", 1)[0]) or ""
    return f"{code} {label}".strip()


def _document_link(d: Any, base_url: str, terms: str) -> str:
    kind = "l’acte" if d.role == "acte" else "l’annexe"
    fmt = (
        "PDF"
        if d.nom.lower().endswith(".pdf")
        else (d.nom.rsplit(".", 1)[-1].upper() if "." in d.nom else "")
    )
    found = ' <span class="trouve">contient les mots recherchés</span>' if d.correspond and terms else ""
    snippet = f'<p class="extrait">… {d.extrait.html} …</p>' if d.extrait is not None else ""
    url = layout.public_document_url(base_url, d.document_id)
    return (
        f'<li><a href="{_e(url)}" target="_blank" rel="noopener">Télécharger {kind} « {_e(d.nom)} »'
        f"{f' ({fmt}, nouvelle fenêtre)' if fmt else ' (nouvelle fenêtre)'}</a>{found}{snippet}</li>"
    )


def _hit(hit: SearchHit, base_url: str, terms: str, show_siren: bool) -> str:
    meta = [f"Décision du {date_fr(hit.date_acte)}"] if hit.date_acte else []
    if hit.date_publication:
        meta.append(f"publiée le {date_fr(hit.date_publication)}")
    details = []
    if hit.nature:
        details.append(f"<li>Nature : {_e(NATURES.get(hit.nature, hit.nature))}</li>")
    if hit.matiere_code:
        details.append(f"<li>Matière : {_e(_matiere_label(hit.matiere_code))}</li>")
    if hit.numero:
        details.append(f"<li>Numéro : {_e(hit.numero)}</li>")
    if show_siren:
        details.append(f"<li>SIREN : {_e(hit.siren)}</li>")
    objet = hit.extrait_objet.html if (hit.extrait_objet and hit.correspond_objet) else _e(hit.objet)
    annex_note = (
        '<p class="note">Présent car au moins une annexe correspond à la recherche.</p>'
        if hit.annexe_seule and terms
        else ""
    )
    documents = "".join(_document_link(d, base_url, terms) for d in hit.documents)
    documents_html = (
        f'<ul class="documents" aria-label="Documents de l’acte">{documents}</ul>'
        if documents
        else '<p class="note">Documents non publiés (métadonnées seules).</p>'
    )
    return (
        f'<li class="acte"><article aria-labelledby="acte-{_e(hit.acte_id)}">'
        f'<h3 id="acte-{_e(hit.acte_id)}">{objet}</h3>'
        f'<p class="dates">{_e(", ".join(meta))}</p><ul class="details">{"".join(details)}</ul>'
        f"{annex_note}{documents_html}</article></li>"
    )


def _checkbox(name: str, value: Any, label: str, checked: bool, ident: str) -> str:
    return (
        f'<div class="case"><input type="checkbox" id="{ident}" name="{name}" value="{_e(value)}"'
        f'{" checked" if checked else ""}><label for="{ident}">{_e(label)}</label></div>'
    )


def _form(params: MarqueBlancheParams) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{_e(value)}">'
        for name, value in (("siren", params.siren), ("theme", params.theme), ("couleur", params.couleur))
        if value
    )
    scopes = "".join(
        f'<div class="case"><input type="radio" id="in-{v}" name="in" value="{v}"'
        f'{" checked" if params.in_ == v else ""}><label for="in-{v}">{label}</label></div>'
        for v, label in (
            ("both", "Objet et documents"),
            ("objet", "Objet seul"),
            ("documents", "Documents seuls"),
        )
    )
    natures = "".join(
        _checkbox("types_actes", n, label, n in params.types_actes, f"nature-{n}")
        for n, label in NATURES.items()
    )
    selected = params.classifications[0] if params.classifications else ""
    options = ['<option value="">Toutes les matières</option>']
    for code1, label1 in NIVEAU1.items():
        options.append(f'<optgroup label="{_e(code1)} {_e(label1)}">')
        options.append(
            f'<option value="{code1}"{" selected" if selected == code1 else ""}>{code1} {_e(label1)} '
            f"(toutes)</option>"
        )
        for code2, label2 in NIVEAU2.items():
            if code2.split(".", 1)[0] == code1:
                options.append(
                    f'<option value="{code2}"{" selected" if selected == code2 else ""}>{code2} '
                    f"{_e(label2)}</option>"
                )
        options.append("</optgroup>")
    thematiques = ['<option value="">Aucune</option>'] + [
        f'<option value="{k}"{" selected" if params.thematique == k else ""}>{_e(label)}</option>'
        for k, (label, _codes) in THEMATIQUES.items()
    ]
    opened = any(
        (
            params.types_actes,
            params.classifications,
            params.thematique,
            params.date_debut,
            params.date_fin,
            params.date_de_publication_debut,
            params.date_de_publication_fin,
            params.publications_en_cours,
            params.in_ != "both",
        )
    )

    def day(name: str, label: str, value: date | None) -> str:
        return (
            f'<div class="champ"><label for="{name}">{label}</label>'
            f'<input type="date" id="{name}" name="{name}" '
            f'value="{_e(value.isoformat() if value else "")}"></div>'
        )

    return (
        f'<form method="get" action="marque-blanche" role="search" aria-label="Rechercher dans les '
        f'actes">{hidden}'
        '<div class="champ recherche"><label for="recherche">Rechercher dans les actes</label>'
        f'<input type="search" id="recherche" name="recherche" value="{_e(params.recherche)}" '
        f'maxlength="200" '
        'aria-describedby="aide-recherche">'
        '<p id="aide-recherche" class="aide">Tous les mots sont cherchés (accents et majuscules ignorés) ; '
        "« expression exacte » entre guillemets, préfixe* , -mot pour exclure.</p></div>"
        f"<details{' open' if opened else ''}><summary>Affiner la recherche</summary>"
        f"<fieldset><legend>Chercher dans</legend>{scopes}</fieldset>"
        f"<fieldset><legend>Nature de l’acte</legend>{natures}</fieldset>"
        f'<div class="champ"><label for="classifications">Matière</label>'
        f'<select id="classifications" name="classifications">{"".join(options)}</select></div>'
        f'<div class="champ"><label for="thematique">Thématique</label>'
        f'<select id="thematique" name="thematique">{"".join(thematiques)}</select></div>'
        f"<fieldset><legend>Date de l’acte</legend>{day('date_debut', 'Du', params.date_debut)}"
        f"{day('date_fin', 'Au', params.date_fin)}</fieldset>"
        f"<fieldset><legend>Date de publication</legend>"
        f"{day('date_de_publication_debut', 'Du', params.date_de_publication_debut)}"
        f"{day('date_de_publication_fin', 'Au', params.date_de_publication_fin)}"
        + _checkbox(
            "publications_en_cours",
            "true",
            f"Publiés depuis moins de {PUBLICATIONS_EN_COURS_DAYS} jours (délai de recours en cours)",
            params.publications_en_cours,
            "publications_en_cours",
        )
        + "</fieldset></details>"
        '<button type="submit" class="bouton">Rechercher</button></form>'
    )


def render_page(
    params: MarqueBlancheParams,
    result: SearchResult | None,
    nom: str,
    base_url: str,
    error: str | None = None,
) -> tuple[str, dict[str, str]]:
    """The page's HTML and its security headers."""
    theme = theme_of(params)
    style = theme_css(theme) + asset("page.css")
    script = asset("page.js")
    terms = params.recherche.strip()
    parts = [
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">',
        f"<title>{_e(('Résultats pour « ' + terms + ' » – ') if terms else '')}Actes publiés – "
        f"{_e(nom)}</title>",
        f"<style>{style}</style></head><body>",
        '<a class="evitement" href="#resultats">Aller aux résultats</a>',
        f'<header class="entete"><h1>Actes publiés <span class="collectivite">{_e(nom)}</span></h1></header>',
        '<main id="contenu">',
        _form(params),
        '<section id="resultats" aria-labelledby="titre-resultats" tabindex="-1">',
        '<h2 id="titre-resultats">Résultats</h2>',
    ]
    if error:
        parts.append(f'<p class="erreur" role="alert">{_e(error)}</p>')
    elif result is not None:
        plural = "s" if result.total > 1 else ""
        verb = ("trouvé" if terms else "publié") + plural
        parts.append(
            f'<p id="nb-resultats" role="status" aria-live="polite">{result.total} acte{plural} {verb}</p>'
        )
        if result.hits:
            parts.append('<ol class="resultats">')
            parts.extend(_hit(h, base_url, terms, params.siren is None) for h in result.hits)
            parts.append("</ol>")
        else:
            parts.append(
                '<p class="note">Aucun acte ne correspond : essayez d’autres mots ou moins de filtres.</p>'
            )
        nav = []
        if params.page_suivante:
            nav.append(
                f'<a class="bouton secondaire" href="marque-blanche?{_e(_query(params))}">Premiers '
                f"résultats</a>"
            )
        if result.next_cursor:
            following = _e(_query(params, page_suivante=result.next_cursor))
            nav.append(f'<a class="bouton" href="marque-blanche?{following}">Résultats suivants</a>')
        elif result.hits:
            nav.append('<p class="note">Vous avez atteint la fin des résultats.</p>')
        parts.append(f'<nav class="pages" aria-label="Pages de résultats">{"".join(nav)}</nav>')
    parts.append("</section></main>")
    parts.append(f"<script>{script}</script></body></html>")
    return "".join(parts), headers_for(style, script, generator=False)


def render_generator(params: MarqueBlancheParams, nom: str, base_url: str) -> tuple[str, dict[str, str]]:
    """The operators' snippet generator: form (server-side, works without JS) + live preview + copy."""
    theme = theme_of(params)
    style = theme_css(theme) + asset("page.css")
    script = asset("generateur.js")
    query = _query(params)
    src = f"{base_url}/v1/marque-blanche" + (f"?{query}" if query else "")
    title = IFRAME_TITLE.format(nom=nom)
    snippet = (
        f'<iframe src="{_e(src)}" title="{_e(title)}" width="100%" height="{params.hauteur}" '
        'style="border:0" referrerpolicy="strict-origin-when-cross-origin" loading="lazy"></iframe>\n'
        "<script>addEventListener('message',function(e){var d=e.data;"
        "if(d&&d.type==='regate:height'){document.querySelectorAll('iframe').forEach(function(f){"
        "if(f.contentWindow===e.source){f.style.height=d.height+'px';}});}});</script>"
    )
    themes = "".join(
        f'<option value="{k}"{" selected" if params.theme == k else ""}>{_e(t.label)}</option>'
        for k, t in THEMES.items()
    )
    preview = "marque-blanche" + (f"?{query}" if query else "")
    body = (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
        "<title>Intégrer la recherche d’actes – générateur de code</title>"
        f"<style>{style}</style></head><body>"
        '<header class="entete"><h1>Intégrer la recherche d’actes sur votre site</h1></header><main>'
        '<form method="get" action="marque-blanche" id="generateur">'
        '<input type="hidden" name="generateur" value="true">'
        '<div class="champ"><label for="g-siren">SIREN de la collectivité</label>'
        f'<input id="g-siren" name="siren" inputmode="numeric" pattern="[0-9]{{9}}" '
        f'value="{_e(params.siren or "")}"></div>'
        f'<div class="champ"><label for="g-theme">Thème</label><select id="g-theme" '
        f'name="theme">{themes}</select></div>'
        '<div class="champ"><label for="g-couleur">Couleur personnalisée (RRGGBB, facultatif)</label>'
        f'<input id="g-couleur" name="couleur" pattern="[0-9a-fA-F]{{6}}" '
        f'value="{_e(params.couleur or "")}"></div>'
        '<div class="champ"><label for="g-hauteur">Hauteur (pixels)</label>'
        f'<input id="g-hauteur" name="hauteur" type="number" min="200" max="4000" '
        f'value="{params.hauteur}"></div>'
        '<button type="submit" class="bouton">Mettre à jour</button></form>'
        '<div class="champ"><label for="g-code">Code à copier dans votre page</label>'
        f'<textarea id="g-code" rows="6" readonly data-base="{_e(base_url)}" '
        f'data-nom="{_e(nom)}">{_e(snippet)}</textarea></div>'
        '<button type="button" class="bouton" id="g-copier">Copier le code</button>'
        '<p id="g-statut" role="status" aria-live="polite"></p>'
        "<h2>Aperçu</h2>"
        f'<iframe id="g-apercu" src="{_e(preview)}" title="{_e(title)} (aperçu)" width="100%" '
        f'height="{params.hauteur}" class="apercu"></iframe>'
        f"</main><script>{script}</script></body></html>"
    )
    return body, headers_for(style, script, generator=True)


# ----------------------------------------------------------------------------------- handler
def page_response(
    reader: Any,
    settings: Any,
    raw: dict[str, list[str]],
    today: date,
    name_of: Any,
) -> tuple[int, str, dict[str, str], str]:
    """``(status, html, headers, version)`` of the page for these raw query parameters.

    Bad parameters give the page with a French message (400/422), never a JSON error inside an iframe.
    """
    from regate.api.errors import ApiError
    from regate.api.params import parse_params
    from regate.search.engine import SearchLimits, search
    from regate.search.query import SearchQueryError

    base_url = settings.public_base_url
    try:
        params = parse_params(MarqueBlancheParams, raw)
    except ApiError as exc:
        safe = MarqueBlancheParams()
        body, headers = render_page(safe, None, "toutes les collectivités", base_url, error=exc.message)
        return exc.status, body, headers, "erreur"
    nom = name_of(params.siren) if params.siren else "toutes les collectivités"
    if params.generateur:
        body, headers = render_generator(params, nom, base_url)
        return 200, body, headers, _static_version(body)
    limits = SearchLimits.from_settings(settings)
    try:
        result = search(
            reader,
            params.recherche,
            in_=params.in_,
            sirens=[params.siren] if params.siren else None,
            filters=filters_of(params, today),
            limit=PAGE_SIZE,
            cursor=params.page_suivante,
            sort="pertinence" if params.recherche.strip() else "date",
            limits=limits,
            browse=True,
        )
    except SearchQueryError as exc:
        body, headers = render_page(params, None, nom, base_url, error=exc.message)
        return 422, body, headers, "erreur"
    body, headers = render_page(params, result, nom, base_url)
    version = hashlib.sha256(
        f"{reader.version([params.siren] if params.siren else None)}|{_static_version(body)}".encode()
    ).hexdigest()[:32]
    return 200, body, headers, version


def _static_version(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()[:32]
