"""The publication decision of an act — explicit, explained, fail-closed and tested.

Four outcomes: ``publier`` (metadata and documents public), ``metadonnees`` (SCDL row without
``DELIB_URL``, no document), ``retenir`` (nothing public), ``a_statuer`` (pending a human decision;
treated as ``retenir`` and listed for operators).

Precedence (most specific wins; README "Publication decision" has the full table):

0. an operator file that cannot be read at all (no version of it parses) → ``a_statuer``
   (``config_collectivites_illisible`` / ``config_overrides_illisible``): it may hold a takedown;
1. the operator overrides file (curated ``config/overrides.csv``, see :func:`parse_overrides`);
2. the collectivité switch ``open_data`` off → ``retenir``;
3. the default by nature when ``publication_open_data`` is empty or absent: 1, 2, 5 → publier; 3, 6 →
   retenir (actes individuels are private by default); 4, 7 → a_statuer;
4. otherwise Pastell's ``publication_open_data`` code, read through the flux's own code table (raw
   ``pastell-flux/{flux}.json``):

   * no readable definition (never captured, unreadable; depot ZIPs have none unless the
     ``ged-megalis-opendata`` definition was captured) → ``a_statuer`` (``table_absente``), decided again
     when the definition arrives (its digest is an input of the record);
   * a definition without options for the field → the **fallback** table, where only the explicit "oui"
     code ``3`` publishes, ``1`` withholds, anything else is ``a_statuer``; natures 3 and 6 (actes
     individuels, autres) are never published from it (``a_statuer``);
   * code ``0`` never publishes automatically, whatever a table says (``code_0_ambigu``): it means "oui" in
     old Mégalis data, "ne sais pas" in the ``super-ged-megalis`` form, and the budget connector forces it.

Then the collectivité switch ``documents`` off turns ``publier`` into ``metadonnees``; ``annexes`` off
keeps annexes private (see :attr:`PublicationDecision.annexes_publiques`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Literal

from pydantic import BaseModel, Field

from regate.operator_files import FileProblem, has_errors, normalize_column, read_operator_csv

Decision = Literal["publier", "metadonnees", "retenir", "a_statuer"]
DECISIONS: tuple[str, ...] = ("publier", "metadonnees", "retenir", "a_statuer")
PUBLIC_DECISIONS = frozenset({"publier", "metadonnees"})
#: Bumped whenever the rules below change: every record is then decided again by the next run.
DECISION_RULES_VERSION = 2

#: Fallback when a flux definition declares no options (pastell-api.md §19, current Mégalis pipeline):
#: only ``3`` is an explicit "oui". ``0`` ("oui" historically) is deliberately absent.
MEGALIS_CODE_TABLE: dict[str, str] = {"3": "oui", "1": "non", "2": "ne sais pas"}
#: Codes that never publish automatically, whatever the table says.
AMBIGUOUS_CODES = frozenset({"0"})
#: Natures never published from a fallback table (actes individuels, autres).
NEVER_FROM_FALLBACK = frozenset({3, 6})
DEFAULT_BY_NATURE: dict[int, Decision] = {
    1: "publier",
    2: "publier",
    5: "publier",
    3: "retenir",
    6: "retenir",
    4: "a_statuer",
    7: "a_statuer",
}
_LABEL_TO_DECISION: dict[str, Decision] = {"oui": "publier", "non": "retenir", "ne sais pas": "a_statuer"}


class PublicationDecision(BaseModel):
    """What may be made public for one act, and why (``motif`` is a machine-readable code)."""

    decision: Decision
    motif: str
    source: str = Field(
        description="override | collectivite | config | pastell | pastell_table_megalis | nature"
    )
    annexes_publiques: bool = True
    detail: str | None = Field(default=None, description="Free text (operator comment, raw code…)")

    @property
    def public(self) -> bool:
        return self.decision in PUBLIC_DECISIONS

    @property
    def documents_publics(self) -> bool:
        return self.decision == "publier"


class CodeTable(BaseModel):
    """``publication_open_data`` option key → label, and where the table comes from."""

    values: dict[str, str]
    source: Literal["flux", "megalis_defaut"]


def code_table_from_flux_definition(definition: Any) -> CodeTable | None:
    """Read the select options of ``publication_open_data`` from ``GET /flux/{flux}`` as received.

    ``None`` when the definition declares no options (the caller then uses :func:`megalis_code_table`).
    """
    if not isinstance(definition, dict):
        return None
    field = definition.get("publication_open_data")
    if not isinstance(field, dict):
        return None
    values = field.get("value")
    if isinstance(values, list):  # some definitions list labels by position
        values = {str(i): v for i, v in enumerate(values)}
    if not isinstance(values, dict) or not values:
        return None
    table = {str(k).strip(): str(v) for k, v in values.items() if isinstance(v, (str, int))}
    return CodeTable(values=table, source="flux") if table else None


def megalis_code_table() -> CodeTable:
    """The fallback table (only ``3`` publishes; see :data:`MEGALIS_CODE_TABLE`)."""
    return CodeTable(values=dict(MEGALIS_CODE_TABLE), source="megalis_defaut")


def _norm_label(label: str) -> str:
    text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    return re.sub(r"\s+", " ", text).strip()


def normalize_numero(numero: str | None) -> str:
    """How numéros are compared (overrides ↔ acts): case, spaces and trailing dots do not count."""
    text = unicodedata.normalize("NFKC", numero or "")
    return "".join(text.split()).upper().rstrip(".")


class Override(BaseModel):
    """One line of ``config/overrides.csv``."""

    siren: str
    id_d: str | None = None
    numero: str | None = None
    decision: Decision
    motif: str
    line: int

    @property
    def label(self) -> str:
        return f"ligne {self.line} ({self.siren} {self.id_d or self.numero})"


#: A problem of ``config/overrides.csv`` (``error`` refuses the whole file).
OverrideProblem = FileProblem


class Overrides(BaseModel):
    """Operator overrides, indexed for lookup by ``(siren, id_d)`` then ``(siren, numéro normalisé)``."""

    by_id_d: dict[str, Override] = Field(default_factory=dict)
    by_numero: dict[str, Override] = Field(default_factory=dict)

    def find(self, siren: str, id_d: str, numero: str | None) -> Override | None:
        found = self.by_id_d.get(f"{siren}/{id_d}")
        if found is None and numero:
            found = self.by_numero.get(f"{siren}/{normalize_numero(numero)}")
        return found

    def all(self) -> list[Override]:
        """Every distinct line in use, in file order."""
        seen: dict[int, Override] = {}
        for item in [*self.by_id_d.values(), *self.by_numero.values()]:
            seen.setdefault(item.line, item)
        return [seen[line] for line in sorted(seen)]

    def entries(self) -> dict[str, tuple[str, str]]:
        """``"{siren}/id_d:{x}"`` / ``"{siren}/numero:{x}"`` → (decision, motif): to diff two versions."""
        out: dict[str, tuple[str, str]] = {
            f"{k.split('/', 1)[0]}/id_d:{k.split('/', 1)[1]}": (o.decision, o.motif)
            for k, o in self.by_id_d.items()
        }
        out.update(
            {
                f"{k.split('/', 1)[0]}/numero:{k.split('/', 1)[1]}": (o.decision, o.motif)
                for k, o in self.by_numero.items()
            }
        )
        return out


OVERRIDE_COLUMNS = ("siren", "id_d", "numero", "decision", "motif")
DEFAULT_OVERRIDE_MOTIF = "non_precise"


def parse_decision(value: str) -> Decision | None:
    """``Retenir.``, ``Métadonnées``, ``à statuer``, ``A-STATUER`` → the decision id; ``None`` if unknown."""
    label = normalize_column(value)
    return label if label in DECISIONS else None  # type: ignore[return-value]


def parse_overrides(data: bytes | None) -> tuple[Overrides, list[OverrideProblem]]:
    """Parse ``config/overrides.csv`` strictly; NEVER raises. An ``error`` refuses the whole file (empty).

    Format (UTF-8 or Windows-1252, BOM tolerated, ``,`` or ``;``), header required, names in any case::

        siren,id_d,numero,decision,motif
        213502388,Xk3P9aQ,,retenir,donnees_personnelles
        213502388,,DEL2024_012,publier,erreur_de_saisie_corrigee

    One of ``id_d`` / ``numero`` identifies the act (``id_d`` wins when both match; numéros are compared
    without case, spaces or trailing dot); the 4-column forms ``siren,id_d,decision,motif`` and
    ``siren,numero,decision,motif`` are accepted too. ``decision`` is one of publier, metadonnees, retenir,
    a_statuer (any case, accents, trailing dot); ``motif`` is a short code kept in the record (empty →
    ``non_precise``, with a warning). A later line for the same act replaces an earlier one (warning).
    Errors (refuse the file): encoding, NUL bytes, unbalanced quotes, wrong cell counts, bad header, bad
    SIREN, no act identifier, unknown decision — each could silently drop a ``retenir``.
    """
    if not data:
        return Overrides(), []
    overrides = Overrides()
    table = read_operator_csv(data, OVERRIDE_COLUMNS)
    problems: list[OverrideProblem] = list(table.problems)
    if table.header is not None:
        header = table.header
        missing = [c for c in ("siren", "decision") if c not in header]
        if missing or not ({"id_d", "numero"} & set(header)):
            problems.append(
                OverrideProblem(
                    line=1,
                    code="entete_invalide",
                    message=f"En-tête attendu {','.join(OVERRIDE_COLUMNS)} ; reçu {','.join(header)}",
                )
            )
        else:
            for row in table.rows:
                _override_row(row.cells, row.line, overrides, problems)
    if has_errors(problems):
        return Overrides(), problems
    return overrides, problems


def _override_row(
    cells: dict[str, str], line: int, overrides: Overrides, problems: list[OverrideProblem]
) -> None:
    siren, id_d, numero = cells.get("siren", ""), cells.get("id_d", ""), cells.get("numero", "")
    siren = "".join(siren.split())
    raw_decision, motif = cells.get("decision", ""), cells.get("motif", "")
    if not re.fullmatch(r"\d{9}", siren):
        problems.append(
            OverrideProblem(line=line, column="siren", code="siren_invalide", message=f"SIREN {siren!r}")
        )
        return
    if not id_d and not numero:
        problems.append(OverrideProblem(line=line, code="acte_absent", message="id_d ou numero requis"))
        return
    decision = parse_decision(raw_decision)
    if decision is None:
        problems.append(
            OverrideProblem(
                line=line,
                column="decision",
                code="decision_invalide",
                message=f"décision {raw_decision!r} (publier, metadonnees, retenir ou a_statuer)",
            )
        )
        return
    if not motif:
        problems.append(
            OverrideProblem(
                line=line,
                column="motif",
                code="motif_absent",
                message=f"motif vide : {DEFAULT_OVERRIDE_MOTIF!r} retenu",
                severity="warning",
            )
        )
        motif = DEFAULT_OVERRIDE_MOTIF
    item = Override(
        siren=siren, id_d=id_d or None, numero=numero or None, decision=decision, motif=motif, line=line
    )
    for table, ident in (
        (overrides.by_id_d, id_d),
        (overrides.by_numero, normalize_numero(numero) if numero else ""),
    ):
        if ident:
            key = f"{siren}/{ident}"
            if key in table:
                problems.append(
                    OverrideProblem(
                        line=line,
                        code="doublon",
                        message=f"{key} remplace la ligne {table[key].line}",
                        severity="warning",
                    )
                )
            table[key] = item


class CollectiviteSwitches(BaseModel):
    """Per-collectivité switches (``None`` = default: on)."""

    open_data: bool | None = None
    documents: bool | None = None
    annexes: bool | None = None


def decide(
    *,
    siren: str,
    id_d: str,
    numero: str | None,
    nature: int,
    publication_open_data: str | None,
    code_table: CodeTable | None,
    switches: CollectiviteSwitches | None = None,
    overrides: Overrides | None = None,
    blocked: str | None = None,
) -> PublicationDecision:
    """Apply the precedence documented in the module docstring.

    ``code_table`` ``None`` means "no readable flux definition" (``table_absente`` for a non-empty code);
    ``blocked`` is the motif of an operator file that no version of could be read (→ ``a_statuer``).
    """
    switches = switches or CollectiviteSwitches()
    annexes = switches.annexes is not False
    if blocked:
        return PublicationDecision(
            decision="a_statuer", motif=blocked, source="config", annexes_publiques=annexes
        )
    override = overrides.find(siren, id_d, numero) if overrides else None
    if override is not None:
        return PublicationDecision(
            decision=override.decision,
            motif="surcharge_operateur",
            source="override",
            annexes_publiques=annexes,
            detail=override.motif,
        )
    if switches.open_data is False:
        return PublicationDecision(
            decision="retenir",
            motif="collectivite_open_data_desactive",
            source="collectivite",
            annexes_publiques=annexes,
        )
    result = _from_pastell(nature, publication_open_data, code_table)
    result.annexes_publiques = annexes
    if result.decision == "publier" and switches.documents is False:
        result = result.model_copy(
            update={
                "decision": "metadonnees",
                "motif": "collectivite_documents_desactives",
                "source": "collectivite",
                "detail": f"{result.source}:{result.motif}",
            }
        )
    return result


def _from_pastell(nature: int, value: str | None, code_table: CodeTable | None) -> PublicationDecision:
    code = (value or "").strip()
    if not code:
        default = DEFAULT_BY_NATURE[nature]
        motif = "acte_individuel_prive_par_defaut" if nature == 3 else f"defaut_nature_{nature}"
        return PublicationDecision(decision=default, motif=motif, source="nature")
    if code_table is None:
        return PublicationDecision(decision="a_statuer", motif="table_absente", source="pastell", detail=code)
    fallback = code_table.source != "flux"
    source = "pastell_table_megalis" if fallback else "pastell"
    label = code_table.values.get(code)
    if label is None and not fallback:  # some exports carry the label itself rather than the key
        label = code if _norm_label(code) in _LABEL_TO_DECISION else None
    if label is None:
        return PublicationDecision(
            decision="a_statuer", motif="publication_open_data_inconnu", source=source, detail=code
        )
    decision = _LABEL_TO_DECISION.get(_norm_label(label))
    if decision is None:
        return PublicationDecision(
            decision="a_statuer",
            motif="publication_open_data_libelle_inconnu",
            source=source,
            detail=f"{code}={label}",
        )
    if decision == "publier" and code in AMBIGUOUS_CODES:
        return PublicationDecision(
            decision="a_statuer", motif="code_0_ambigu", source=source, detail=f"{code}={label}"
        )
    if decision == "publier" and fallback and nature in NEVER_FROM_FALLBACK:
        return PublicationDecision(
            decision="a_statuer",
            motif=f"nature_{nature}_table_par_defaut",
            source=source,
            detail=f"{code}={label}",
        )
    motif = {"publier": "pastell_oui", "retenir": "pastell_non", "a_statuer": "pastell_ne_sais_pas"}[decision]
    return PublicationDecision(decision=decision, motif=motif, source=source, detail=f"{code}={label}")
