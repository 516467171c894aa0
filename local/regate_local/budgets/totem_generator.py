"""Synthetic TOTEM budget documents, generated from a shipped plan de comptes (tests, demo, bench).

What the real samples lack, on demand: every stage (BP, BS, DM, CA) and the CFU wrapper (with its
``DocumentComptable`` first and ``calculated="true"`` totals to skip), equipment operations, third-party
operations (``ContNat`` = chapter + operation number), a functional presentation (``Fonction`` codes from
the plan's ``RefFonctionnelles``), any declinaison (M57_A/_D/_P…), exercices 2025+ (no shipped plan: the
converter falls back to the previous one), ISO-8859-1 (the usual TOTEM encoding; characters outside
Latin-1 become character references), annexes holding personal-looking data the converter must ignore.

Deterministic: same arguments and seed → same bytes. Streams to a file, so millions of lines fit in a
few megabytes of memory. The summary returned carries totals computed while writing (cents per
``(CodRD, amount element)``), an oracle independent of the reader.

    python -m regate_local.budgets.totem_generator --etape CFU --exercice 2026 --lignes 1000000 big.xml
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape, quoteattr

from stdnum import luhn

from regate.flux.budgets.model import NATDEC_ETAPES, Etape
from regate.flux.budgets.plans import Chapitre, Compte, PlanDeComptes, PlansDeComptes, plans_de_comptes

NATDEC_CODES: dict[Etape, str] = {etape: code for code, etape in NATDEC_ETAPES.items()}
_CASES = (
    ("D", "0", None),
    ("R", "0", None),
    ("D", "1", "2"),
    ("R", "1", "2"),
    ("D", "1", "1"),
    ("R", "1", "1"),
)
_AMOUNT_ORDER = ("MtBudgPrec", "MtRARPrec", "MtPropNouv", "MtPrev", "CredOuv", "MtReal", "MtRAR3112")


def siret_synthetique(rnd: random.Random, prefix: str = "21") -> str:
    """A SIRET whose SIREN and SIRET both pass Luhn (``21…``: communes)."""
    base8 = prefix + "".join(str(rnd.randrange(10)) for _ in range(8 - len(prefix)))
    siren = base8 + luhn.calc_check_digit(base8)
    nic4 = "".join(str(rnd.randrange(10)) for _ in range(4))
    return siren + nic4 + luhn.calc_check_digit(siren + nic4)


@dataclass(frozen=True)
class _Case:
    compte: Compte
    codrd: str
    opbudg: str
    typopbudg: str | None
    chapitre: Chapitre
    tiers: bool  # third-party operation: ContNat = chapter + operation number


@dataclass
class GeneratedTotem:
    """What was written: identification, counts and totals (cents) per ``(CodRD, amount element)``."""

    siret: str
    exercice: int
    etape: Etape
    nomenclature: str
    plan: str  # the plan used to draw accounts ("2024/M57/M57_A" for a 2025 document)
    lignes: int = 0  # non-calculated LigneBudget
    calculees: int = 0
    totaux: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    contnat_attendus: dict[int, str] = field(default_factory=dict)  # line number → chapter (if kept)
    fonctions: int = 0  # lines with a Fonction
    operations: int = 0
    tiers: int = 0

    def total(self, codrd: str, element: str) -> int:
        return self.totaux.get((codrd, element), 0)


def _cases(plan: PlanDeComptes) -> list[_Case]:
    cases: list[_Case] = []
    for compte in sorted(plan.comptes.values(), key=lambda c: c.code):
        if len(compte.code) > 9:
            continue
        for codrd, opbudg, typ in _CASES:
            code = compte.chapitre_pour(codrd, opbudg, typ)
            if not code:
                continue
            chapitre = plan.chapitre(code)
            if chapitre is None or chapitre.section not in ("I", "F"):
                continue
            tiers = code.startswith("45") and compte.code.startswith("45") and len(code) == 4
            cases.append(_Case(compte, codrd, opbudg, typ, chapitre, tiers))
    if not cases:
        raise ValueError(f"plan {plan.cle} : aucun compte utilisable")
    return cases


def _fonctions(plan: PlanDeComptes) -> list[str]:
    parents = {f.parent for f in plan.fonctions.values()}
    return sorted(code for code in plan.fonctions if code not in parents and len(code) <= 9)


def _money(rnd: random.Random, low: float = 1.5, high: float = 6.5) -> int:
    """A log-uniform amount in cents (tens of euros to millions)."""
    return round(10 ** rnd.uniform(low, high)) * 100 + rnd.randrange(100)


def _fmt(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def _amounts(rnd: random.Random, etape: Etape, section: str) -> dict[str, int]:
    """Amounts of one line, consistent with the stage (next-flows §A.4)."""
    out: dict[str, int] = {}
    if etape is Etape.BP:
        if rnd.random() < 0.7:
            out["MtBudgPrec"] = _money(rnd)
        rar = _money(rnd) if section == "I" and rnd.random() < 0.1 else 0
        prop = _money(rnd) if rnd.random() < 0.9 else 0
        if rar:
            out["MtRARPrec"] = rar
        if prop:
            out["MtPropNouv"] = prop
        out["MtPrev"] = prop + rar
        if rnd.random() < 0.6:
            out["CredOuv"] = prop + rar
    elif etape is Etape.DM:
        out["MtBudgPrec"] = _money(rnd)
        if rnd.random() < 0.1:
            delta = _money(rnd, 1.0, 5.0) * (1 if rnd.random() < 0.7 else -1)
            out["MtPropNouv"] = delta
            out["MtPrev"] = delta
            out["CredOuv"] = delta
        else:
            out["MtPrev"] = 0
    elif etape is Etape.BS:
        if rnd.random() < 0.9:
            out["MtBudgPrec"] = _money(rnd)
        rar = _money(rnd) if rnd.random() < 0.3 else 0
        prop = _money(rnd, 1.0, 5.5) if rnd.random() < 0.6 else 0
        if rar:
            out["MtRARPrec"] = rar
        if prop:
            out["MtPropNouv"] = prop
        out["MtPrev"] = prop + rar
    else:  # CA, CFU: every amount present (zeros included), as in the CFU sample
        rar_prec = _money(rnd) if section == "I" and rnd.random() < 0.1 else 0
        prev = _money(rnd)
        cred = prev + rar_prec
        real = cred * rnd.randrange(60, 101) // 100 if rnd.random() < 0.9 else 0
        rar = (cred - real) // 2 if section == "I" and rnd.random() < 0.2 else 0
        out.update(
            MtBudgPrec=0 if etape is Etape.CA else prev,
            MtRARPrec=rar_prec,
            MtPropNouv=prev,
            MtPrev=prev + rar_prec,
            CredOuv=cred,
            MtReal=real,
            MtRAR3112=rar,
        )
    return out


def _line_xml(
    case: _Case,
    amounts: dict[str, int],
    *,
    contnat: str | None,
    fonction: str | None,
    operation: str | None,
    tiers: str | None,
    artspe: str,
    libcpte: str | None,
    caracsup: str | None,
) -> str:
    parts = [f'<Nature V="{case.compte.code}"/>']
    if fonction:
        parts.append(f'<Fonction V="{fonction}"/>')
    if contnat:
        parts.append(f'<ContNat V="{contnat}"/>')
    if operation:
        parts.append(f'<Operation V="{operation}"/>')
    parts.append(f'<ArtSpe V="{artspe}"/><CodRD V="{case.codrd}"/>')
    parts.extend(f'<{name} V="{_fmt(amounts[name])}"/>' for name in _AMOUNT_ORDER if name in amounts)
    parts.append(f'<OpBudg V="{case.opbudg}"/>')
    if case.typopbudg:
        parts.append(f'<TypOpBudg V="{case.typopbudg}"/>')
    if libcpte:
        parts.append(f"<LibCpte V={quoteattr(libcpte)}/>")
    if tiers:
        parts.append(f'<OpeCpteTiers V="{tiers}"/>')
    if amounts.get("MtBudgPrec"):
        parts.append(f'<MtSup V="{_fmt(amounts["MtBudgPrec"])}" Code="BudgetHorsRAR"/>')
    if operation:
        parts.append('<CaracSup V="1" Code="TypOpe"/>')  # the trap: a CaracSup that is not a section
    if caracsup:
        parts.append(f'<CaracSup V="{caracsup}" Code="Section"/>')
    return "<LigneBudget>" + "".join(parts) + "</LigneBudget>\n"


def _calculated_xml(rnd: random.Random, chapitre: str, codrd: str) -> str:
    amounts = "".join(f'<{name} V="{_fmt(_money(rnd, 3, 7))}"/>' for name in ("MtPrev", "CredOuv", "MtReal"))
    return (
        f'<LigneBudget calculated="true"><ChapitreNature V="{chapitre}"/><CodRD V="{codrd}"/>'
        f'{amounts}<OpBudg V="0"/></LigneBudget>\n'
    )


def _attr(value: str) -> str:
    return quoteattr(value)


def generate_totem(
    out: Path | IO[bytes],
    *,
    etape: Etape | str = Etape.BP,
    exercice: int = 2025,
    nomenclature: str = "M57-M57_A",
    lignes: int = 200,
    seed: int = 0,
    siret: str | None = None,
    libelle_etab: str = "BUDGET PRINCIPAL",
    libelle_coll: str = "COMMUNE DE SAINT-ÉTIENNE-EN-COGLÈS",
    cod_bud: str = "00",
    fonctions: bool = False,
    operations: bool = True,
    calculees: int | None = None,
    contnat_ratio: float = 0.7,
    encoding: str = "ISO-8859-1",
    scellement: str | None = None,
    date_decision: str | None = None,
    keep_expected: bool = False,
    plans: PlansDeComptes | None = None,
) -> GeneratedTotem:
    """Write one synthetic TOTEM document (``DocumentBudgetaire``; CFU: wrapped) and return its summary."""
    etape = Etape(etape)
    plans = plans or plans_de_comptes()
    plan = plans.resolve(exercice, nomenclature).plan
    rnd = random.Random(f"{seed}/{etape.value}/{exercice}/{nomenclature}/{lignes}")
    siret = siret or siret_synthetique(rnd)
    cases = _cases(plan)
    fonction_codes = _fonctions(plan) if fonctions else []
    if calculees is None:
        calculees = lignes // 2 if etape is Etape.CFU else 0
    summary = GeneratedTotem(siret, exercice, etape, nomenclature, plan.cle)
    month = {Etape.BP: 4, Etape.BS: 6, Etape.DM: 10, Etape.CA: 6, Etape.CFU: 6}[etape]
    year = exercice + 1 if etape in (Etape.CA, Etape.CFU) else exercice
    date_decision = date_decision or f"{year}-{month:02d}-04"
    scellement = scellement or f"{date_decision}T10:16:21.216+02:00"
    chunks = _document(
        rnd,
        summary,
        cases=cases,
        fonction_codes=fonction_codes,
        lignes=lignes,
        calculees=calculees,
        operations=operations,
        contnat_ratio=contnat_ratio,
        header=dict(
            siret=siret,
            libelle_etab=libelle_etab,
            libelle_coll=libelle_coll,
            cod_bud=cod_bud,
            nomenclature=nomenclature,
            natdec=NATDEC_CODES[etape],
            exercice=str(exercice),
            date_decision=date_decision,
            scellement=scellement,
            nat_fonc="2" if fonctions else "1",
        ),
        encoding=encoding,
        keep_expected=keep_expected,
    )
    if isinstance(out, Path):
        with out.open("wb") as handle:
            _write(handle, chunks, encoding)
    else:
        _write(out, chunks, encoding)
    return summary


def _write(handle: IO[bytes], chunks: Iterator[str], encoding: str) -> None:
    buffer: list[str] = []
    size = 0
    for chunk in chunks:
        buffer.append(chunk)
        size += len(chunk)
        if size > 1 << 20:
            handle.write("".join(buffer).encode(encoding, errors="xmlcharrefreplace"))
            buffer.clear()
            size = 0
    handle.write("".join(buffer).encode(encoding, errors="xmlcharrefreplace"))


def _document(
    rnd: random.Random,
    summary: GeneratedTotem,
    *,
    cases: list[_Case],
    fonction_codes: list[str],
    lignes: int,
    calculees: int,
    operations: bool,
    contnat_ratio: float,
    header: dict[str, str],
    encoding: str,
    keep_expected: bool,
) -> Iterator[str]:
    cfu = summary.etape is Etape.CFU
    h = header
    seal = hashlib.sha1(f"{h['siret']}{h['exercice']}{h['natdec']}{lignes}".encode()).hexdigest().upper()
    yield f'<?xml version="1.0" encoding="{encoding}"?>\n'
    if cfu:
        yield (
            '<doccfu:CompteFinancierUnique xmlns:doccfu="http://www.minefi.gouv.fr/cp/demat/doccfu" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
            '<DocumentComptable xmlns="http://www.minefi.gouv.fr/cp/demat/doccomptable">\n'
            f'<EnteteComptable><Infos><Nomenclature V="{h["nomenclature"].partition("-")[2]}"/>'
            f'<Exercice V="{h["exercice"]}"/>'
            f'<Collectivite Siret="{h["siret"]}" Libelle={_attr(h["libelle_coll"])}/>'
            "</Infos></EnteteComptable>\n<BudgetComptable>\n"
        )
        for number in range(1, 41):
            yield (
                f'<LigneComptable><Etat V="BI_S_A"/><NumOrdre V="{number}"/><Intitule1 V="Poste {number}"/>'
                f'<MtNet V="{_fmt(_money(rnd))}"/></LigneComptable>\n'
            )
        yield "</BudgetComptable>\n</DocumentComptable>\n"
        yield '<DocumentBudgetaire xmlns="http://www.minefi.gouv.fr/cp/demat/docbudgetaire">\n'
    else:
        yield (
            '<DocumentBudgetaire xmlns="http://www.minefi.gouv.fr/cp/demat/docbudgetaire" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        )
    yield (
        '<VersionSchema V="100"/>\n'
        '<BlocEditeur><CodeEditeur V="Rég@te — générateur synthétique"/></BlocEditeur>\n'
        f'<Scellement md5="{seal[:32]}" sha1="{seal}" date="{h["scellement"]}"/>\n'
        f'<EnTeteDocBudgetaire><DteStr V="{h["date_decision"]}"/><LibellePoste V="SGC SYNTHÉTIQUE"/>'
        f'<IdPost V="035999"/><LibelleColl V={_attr(h["libelle_coll"])}/><IdColl V="{h["siret"]}"/>'
        '<NatCEPL V="Commune"/><Departement V="35"/></EnTeteDocBudgetaire>\n'
        "<Budget>\n"
        f'<EnTeteBudget><LibelleEtab V={_attr(h["libelle_etab"])}/><IdEtab V="{h["siret"]}"/>'
        f'<CodColl V="520"/><CodInseeColl V="35999"/><CodBud V="{h["cod_bud"]}"/>'
        f'<Nomenclature V="{h["nomenclature"]}"/></EnTeteBudget>\n'
        f'<BlocBudget><NatDec V="{h["natdec"]}"/><Exer V="{h["exercice"]}"/><ProjetBudget V="false"/>'
        f'<DteDec V="{h["date_decision"]}"/><NatVote V="FcIc"/><NatFonc V="{h["nat_fonc"]}"/></BlocBudget>\n'
        '<InformationsGenerales><Information Code="PopTot" V="3 446"/>'
        '<Information Code="PotFisc3T" V="0,00"/></InformationsGenerales>\n'
    )
    calc_every = (lignes // calculees) if calculees else 0
    calc_left = calculees
    numero = 0
    for index in range(lignes):
        case = rnd.choice(cases)
        section = case.chapitre.section
        amounts = _amounts(rnd, summary.etape, section)
        operation = tiers = contnat = None
        if case.tiers:
            number = f"{rnd.randrange(1, 20):03d}"
            contnat, tiers = case.chapitre.code + number, number
            summary.tiers += 1
        elif (
            operations
            and section == "I"
            and case.opbudg == "0"
            and case.codrd == "D"
            and case.chapitre.code in ("20", "21", "23")
            and rnd.random() < 0.3
        ):
            operation = str(1000 + rnd.randrange(40))
            summary.operations += 1
        elif rnd.random() < contnat_ratio:
            contnat = case.chapitre.code
        fonction = rnd.choice(fonction_codes) if fonction_codes and rnd.random() < 0.8 else None
        if fonction:
            summary.fonctions += 1
        yield _line_xml(
            case,
            amounts,
            contnat=contnat,
            fonction=fonction,
            operation=operation,
            tiers=tiers,
            artspe="true" if rnd.random() < 0.02 else "false",
            libcpte=case.compte.libelle.upper() if rnd.random() < 0.1 else None,
            caracsup=section if rnd.random() < 0.5 else None,
        )
        numero += 1
        summary.lignes += 1
        if keep_expected:
            summary.contnat_attendus[numero] = contnat or case.chapitre.code
        for name, cents in amounts.items():
            summary.totaux[(case.codrd, name)] += cents
        if calc_every and calc_left and index % calc_every == calc_every - 1:
            yield _calculated_xml(rnd, case.chapitre.code, case.codrd)
            numero += 1
            calc_left -= 1
            summary.calculees += 1
    while calc_left:
        yield _calculated_xml(rnd, "011", "D")
        calc_left -= 1
        summary.calculees += 1
    yield (
        '<Annexes>\n<DATA_PERSONNEL><PERSONNEL><LibGrade V="Attaché principal"/><TempsComplet V="1"/>'
        '<Nom V="Dupont &amp; fils"/></PERSONNEL></DATA_PERSONNEL>\n'
        f'<DATA_CONCOURS><CONCOURS><LibOrgaBenef V={_attr("Mme Jeanne Le Gall")}/><CodNatJurBenefCA V="P3"/>'
        f'<MtSubv V="{_fmt(_money(rnd, 2, 4))}"/></CONCOURS></DATA_CONCOURS>\n</Annexes>\n'
        "</Budget>\n</DocumentBudgetaire>\n"
    )
    if cfu:
        yield f"<Signature><Valeur>{escape(seal)}</Valeur></Signature>\n</doccfu:CompteFinancierUnique>\n"


def file_name(summary: GeneratedTotem, id_post: str = "035999") -> str:
    """``DOCBUDG-<SIRET>-<IdPost>-<étape>-<année>-<horodatage>.xml``, the usual TOTEM file name."""
    return f"DOCBUDG-{summary.siret}-{id_post}-{summary.etape.value}-{summary.exercice}-01012000000000.xml"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Générer un document TOTEM synthétique.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--etape", default="BP", choices=[e.value for e in Etape])
    parser.add_argument("--exercice", type=int, default=2025)
    parser.add_argument("--nomenclature", default="M57-M57_A")
    parser.add_argument("--lignes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fonctions", action="store_true")
    parser.add_argument("--encoding", default="ISO-8859-1")
    args = parser.parse_args(argv)
    summary = generate_totem(
        args.out,
        etape=args.etape,
        exercice=args.exercice,
        nomenclature=args.nomenclature,
        lignes=args.lignes,
        seed=args.seed,
        fonctions=args.fonctions,
        encoding=args.encoding,
    )
    print(f"{args.out}: {summary.lignes} lignes, {summary.calculees} calculées, plan {summary.plan}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
