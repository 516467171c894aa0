"""The query language of the search box, parsed by us — user text never reaches the engine's own parser.

Supported (and nothing else):

* words: every word is required (``cantine scolaire``); accents, case and plural/singular do not matter;
* ``"une expression"``: the words in this order (« » and “ ” count as quotes);
* ``cant*``: a prefix (at least ``REGATE_SEARCH_MIN_PREFIX_CHARS`` letters);
* ``-mot`` or ``-"une expression"``: exclude;
* punctuation (``: ( ) ^ ~ [ ] { } / \\ !``…) is ignored like in the indexed text.

Anything ambiguous is refused with a :class:`SearchQueryError` (an API answers 422 with its French
message): unbalanced quotes, a ``*`` elsewhere than at the end of a word, boolean operators
(``AND OR NOT && ||``), control characters, a query longer than ``REGATE_SEARCH_MAX_QUERY_CHARS`` or with
more than ``REGATE_SEARCH_MAX_QUERY_TERMS`` words, only exclusions.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

ClauseKind = Literal["mot", "expression", "prefixe"]
_QUOTES = str.maketrans({"«": '"', "»": '"', "“": '"', "”": '"', "„": '"', "＂": '"'})
_OPERATORS = frozenset({"AND", "OR", "NOT", "&&", "||"})
_WORD_CHARS = re.compile(r"\w", re.UNICODE)


class SearchQueryError(ValueError):
    """A search request that cannot be answered as asked: ``code`` for machines, ``message`` in French.

    Always a client error (HTTP 422); ``parametre`` names the offending parameter.
    """

    status = 422

    def __init__(self, code: str, message: str, parametre: str = "q") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.parametre = parametre

    def body(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "parametre": self.parametre}


@dataclass(frozen=True)
class Clause:
    kind: ClauseKind
    text: str  # the user's words (a word, a phrase, or a prefix without its '*')
    exclue: bool = False


@dataclass(frozen=True)
class ParsedQuery:
    clauses: tuple[Clause, ...] = field(default_factory=tuple)

    @property
    def positives(self) -> tuple[Clause, ...]:
        return tuple(c for c in self.clauses if not c.exclue)

    @property
    def exclusions(self) -> tuple[Clause, ...]:
        return tuple(c for c in self.clauses if c.exclue)


@dataclass(frozen=True)
class QueryLimits:
    max_chars: int = 500
    max_terms: int = 24
    min_prefix_chars: int = 3


def parse_query(q: object, limits: QueryLimits | None = None) -> ParsedQuery:
    """Parse the search box text; raises :class:`SearchQueryError` with a clear French message."""
    limits = limits or QueryLimits()
    if not isinstance(q, str):
        raise SearchQueryError("requete_invalide", "La recherche doit être un texte.")
    if len(q) > limits.max_chars:
        raise SearchQueryError(
            "requete_trop_longue", f"La recherche dépasse {limits.max_chars} caractères ({len(q)})."
        )
    text = unicodedata.normalize("NFC", q).translate(_QUOTES)
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") and ch not in "\t\n\r " for ch in text):
        raise SearchQueryError("caracteres_interdits", "La recherche contient des caractères de contrôle.")
    if text.count('"') % 2:
        raise SearchQueryError(
            "guillemets_desequilibres", "Guillemets déséquilibrés : fermez l’expression entre guillemets."
        )
    clauses = list(_clauses(text, limits))
    words = sum(len(c.text.split()) for c in clauses)
    if words > limits.max_terms:
        raise SearchQueryError(
            "trop_de_termes", f"La recherche compte {words} mots ; {limits.max_terms} au plus."
        )
    if not clauses:
        raise SearchQueryError("requete_vide", "La recherche est vide.")
    if not any(not c.exclue for c in clauses):
        raise SearchQueryError(
            "aucun_terme_positif", "La recherche ne contient que des exclusions (-mot) : ajoutez un mot."
        )
    return ParsedQuery(tuple(clauses))


def _clauses(text: str, limits: QueryLimits) -> list[Clause]:
    out: list[Clause] = []
    parts = text.split('"')
    exclude_next = False
    for index, part in enumerate(parts):
        if index % 2:  # inside quotes: a phrase
            if "*" in part:
                raise SearchQueryError(
                    "joker_dans_expression",
                    "Le joker * n’est pas accepté dans une expression entre guillemets.",
                )
            if _WORD_CHARS.search(part):
                out.append(Clause("expression", " ".join(part.split()), exclue=exclude_next))
            exclude_next = False
            continue
        # a '-' glued to the opening quote (``-"…"``) excludes the phrase that follows
        exclude_next = (
            index + 1 < len(parts) and part.endswith("-") and (len(part) == 1 or part[-2].isspace())
        )
        if exclude_next:
            part = part[:-1]
        for raw in part.split():
            clause = _word(raw, limits)
            if clause is not None:
                out.append(clause)
    return out


def _word(raw: str, limits: QueryLimits) -> Clause | None:
    if raw in _OPERATORS:
        raise SearchQueryError(
            "operateur_non_pris_en_charge",
            f"L’opérateur « {raw} » n’est pas pris en charge : tous les mots sont requis, "
            '-mot exclut un mot, "…" cherche une expression.',
        )
    excluded = raw.startswith("-")
    word = raw.lstrip("-+")
    if "*" in word.rstrip("*") or word.count("*") > 1:
        raise SearchQueryError("joker_invalide", f"« {raw} » : le joker * ne s’accepte qu’en fin de mot.")
    if word.endswith("*"):
        stem = word[:-1]
        letters = "".join(ch for ch in stem if ch.isalnum())
        if len(letters) < limits.min_prefix_chars or letters != stem:
            raise SearchQueryError(
                "prefixe_trop_court" if letters == stem else "prefixe_invalide",
                f"« {raw} » : un préfixe compte au moins {limits.min_prefix_chars} lettres ou chiffres, "
                "sans ponctuation.",
            )
        return Clause("prefixe", stem.lower(), exclue=excluded)
    if not _WORD_CHARS.search(word):
        return None  # punctuation only
    return Clause("mot", word, exclue=excluded)
