"""The publication decision of an act — explicit, explained and tested.

Four outcomes: ``publier`` (metadata and documents public), ``metadonnees`` (SCDL row without
``DELIB_URL``, no document), ``retenir`` (nothing public), ``a_statuer`` (pending a human decision;
treated as ``retenir`` and listed for operators).

Precedence (most specific wins):

1. the operator overrides file (curated ``config/overrides.csv``, see :func:`parse_overrides`);
2. the collectivité switch ``open_data`` off → ``retenir``;
3. Pastell's ``publication_open_data`` read through the flux's own code table (raw
   ``pastell-flux/{flux}.json``); the current Mégalis table (pastell-api.md §19) only when no
   definition exists — the decision's ``source`` then says ``pastell_table_megalis``;
4. the default by nature when the value is empty or absent: 1, 2, 5 → publier; 3, 6 → retenir
   (actes individuels are private by default); 4, 7 → a_statuer.

Then the collectivité switch ``documents`` off turns ``publier`` into ``metadonnees``; ``annexes`` off
keeps annexes private (see :attr:`PublicationDecision.annexes_publiques`).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from typing import Any, Literal

from pydantic import BaseModel, Field

Decision = Literal["publier", "metadonnees", "retenir", "a_statuer"]
DECISIONS: tuple[str, ...] = ("publier", "metadonnees", "retenir", "a_statuer")
PUBLIC_DECISIONS = frozenset({"publier", "metadonnees"})

#: Current Mégalis pipeline codes (pastell-api.md §19), the fallback when no flux definition was captured.
MEGALIS_CODE_TABLE: dict[str, str] = {"3": "oui", "1": "non", "2": "ne sais pas", "0": "oui"}
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
    source: str = Field(description="override | collectivite | pastell | pastell_table_megalis | nature")
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
    """Read the select options of ``publication_open_data`` from ``GET /flux/{flux}`` as received."""
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
    return CodeTable(values=dict(MEGALIS_CODE_TABLE), source="megalis_defaut")


def _norm_label(label: str) -> str:
    text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    return re.sub(r"\s+", " ", text).strip()


class Override(BaseModel):
    """One line of ``config/overrides.csv``."""

    siren: str
    id_d: str | None = None
    numero: str | None = None
    decision: Decision
    motif: str
    line: int


class OverrideProblem(BaseModel):
    line: int | None
    code: str
    message: str


class Overrides(BaseModel):
    """Operator overrides, indexed for lookup by ``(siren, id_d)`` then ``(siren, numero)``."""

    by_id_d: dict[str, Override] = Field(default_factory=dict)
    by_numero: dict[str, Override] = Field(default_factory=dict)

    def find(self, siren: str, id_d: str, numero: str | None) -> Override | None:
        found = self.by_id_d.get(f"{siren}/{id_d}")
        if found is None and numero:
            found = self.by_numero.get(f"{siren}/{numero}")
        return found


OVERRIDE_COLUMNS = ("siren", "id_d", "numero", "decision", "motif")


def parse_overrides(data: bytes | None) -> tuple[Overrides, list[OverrideProblem]]:
    """Parse ``config/overrides.csv``; NEVER raises (bad lines are reported and ignored).

    Format (UTF-8, BOM tolerated, ``,`` or ``;``), header required::

        siren,id_d,numero,decision,motif
        213502388,Xk3P9aQ,,retenir,donnees_personnelles
        213502388,,DEL2024_012,publier,erreur_de_saisie_corrigee

    One of ``id_d`` / ``numero`` identifies the act (``id_d`` wins when both match); the 4-column forms
    ``siren,id_d,decision,motif`` and ``siren,numero,decision,motif`` are accepted too. ``decision`` is one of
    publier, metadonnees, retenir, a_statuer; ``motif`` is a short code kept in the record (required).
    A later line for the same act replaces an earlier one (reported).
    """
    overrides = Overrides()
    problems: list[OverrideProblem] = []
    if not data:
        return overrides, problems
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return overrides, [OverrideProblem(line=None, code="encodage", message="Fichier non UTF-8 : ignoré")]
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        return overrides, [OverrideProblem(line=1, code="entete_absent", message="En-tête absent")]
    missing = [c for c in ("siren", "decision", "motif") if c not in header]
    if missing or not ({"id_d", "numero"} & set(header)):
        return overrides, [
            OverrideProblem(
                line=1,
                code="entete_invalide",
                message=f"En-tête attendu {','.join(OVERRIDE_COLUMNS)} ; reçu {','.join(header)}",
            )
        ]
    index = {name: header.index(name) for name in OVERRIDE_COLUMNS if name in header}
    line_no = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(OverrideProblem(line=line_no + 1, code="csv_invalide", message=str(exc)))
            break
        line_no = reader.line_num
        if not any(c.strip() for c in cells):
            continue

        def cell(name: str, cells: list[str] = cells) -> str:
            position = index.get(name)
            return cells[position].strip() if position is not None and position < len(cells) else ""

        siren, id_d, numero = cell("siren"), cell("id_d"), cell("numero")
        decision, motif = _norm_label(cell("decision")).replace(" ", "_"), cell("motif")
        if not re.fullmatch(r"\d{9}", siren):
            problems.append(OverrideProblem(line=line_no, code="siren_invalide", message=f"SIREN {siren!r}"))
            continue
        if not id_d and not numero:
            problems.append(
                OverrideProblem(line=line_no, code="acte_absent", message="id_d ou numero requis")
            )
            continue
        if decision not in DECISIONS:
            problems.append(
                OverrideProblem(line=line_no, code="decision_invalide", message=f"décision {decision!r}")
            )
            continue
        if not motif:
            problems.append(OverrideProblem(line=line_no, code="motif_absent", message="motif requis"))
            continue
        item = Override(
            siren=siren,
            id_d=id_d or None,
            numero=numero or None,
            decision=decision,
            motif=motif,
            line=line_no,
        )
        for table, ident in ((overrides.by_id_d, id_d), (overrides.by_numero, numero)):
            if ident:
                key = f"{siren}/{ident}"
                if key in table:
                    problems.append(
                        OverrideProblem(
                            line=line_no, code="doublon", message=f"{key} remplace la ligne {table[key].line}"
                        )
                    )
                table[key] = item
    return overrides, problems


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
) -> PublicationDecision:
    """Apply the precedence documented in the module docstring."""
    switches = switches or CollectiviteSwitches()
    annexes = switches.annexes is not False
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
    table = code_table or megalis_code_table()
    source = "pastell" if table.source == "flux" else "pastell_table_megalis"
    label = table.values.get(code)
    if label is None:  # some exports carry the label itself rather than the key
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
    motif = {"publier": "pastell_oui", "retenir": "pastell_non", "a_statuer": "pastell_ne_sais_pas"}[decision]
    return PublicationDecision(decision=decision, motif=motif, source=source, detail=f"{code}={label}")
