"""CollectiviteDirectory precedence: config > reference > recherche d'entreprises (SIRET) > Pastell (nom)."""

from __future__ import annotations

from regate.collectivites import (
    CollectiviteConfig,
    CollectiviteDirectory,
    ReferenceData,
    SiretResolver,
    parse_collectivites_csv,
)


class CountingResolver(SiretResolver):
    """A resolver whose answers are a dict: no HTTP, no store; counts what was asked."""

    def __init__(self, answers: dict[str, str]) -> None:
        super().__init__(None, None, False, "http://unused")
        self.answers = answers
        self.asked: list[str] = []

    def resolve(self, siren: str) -> str | None:
        self.asked.append(siren)
        return self.answers.get(siren)


REFERENCE = ReferenceData.load_default()


def directory(config_csv: bytes = b"siren\n", answers: dict[str, str] | None = None):
    config, problems = parse_collectivites_csv(config_csv)
    assert [p for p in problems if p.severity == "error"] == []
    resolver = CountingResolver(answers or {})
    return CollectiviteDirectory(REFERENCE, config, resolver), resolver


def test_config_nom_and_siret_win_over_everything() -> None:
    d, resolver = directory(
        b"siren,siret,nom\n213502388,21350238800019,Ville de Rennes\n",
        {"213502388": "21350238800027"},
    )
    rennes = d.describe("213502388", pastell_denomination="MAIRIE DE RENNES")
    assert rennes.nom == "Ville de Rennes"
    assert rennes.siret == "21350238800019"
    assert resolver.asked == []  # no need to ask the API
    # the rest comes from the reference table
    assert (rennes.kind, rennes.code_insee, rennes.epci_siren) == ("commune", "35238", "243500139")


def test_reference_name_beats_pastell_and_resolver_gives_the_siret() -> None:
    d, resolver = directory(answers={"243500139": "24350013900189"})
    metropole = d.describe("243500139", pastell_denomination="RENNES METROPOLE (Pastell)")
    assert metropole.nom == "Rennes Métropole"
    assert metropole.siret == "24350013900189"
    assert metropole.kind == "epci"
    assert resolver.asked == ["243500139"]


def test_unknown_siren_is_autre_named_after_pastell() -> None:
    d, _ = directory(answers={"253514491": "25351449100013"})
    syndicat = d.describe("253514491", pastell_denomination="  Syndicat   des eaux ")
    assert syndicat.kind == "autre"
    assert syndicat.nom == "Syndicat des eaux"
    assert syndicat.siret == "25351449100013"
    assert (syndicat.code_insee, syndicat.lon, syndicat.population) == (None, None, None)


def test_unknown_siren_without_any_name_is_named_by_its_siren() -> None:
    d, _ = directory()
    assert d.describe("253514491").nom == "253514491"
    assert d.describe("253514491").siret is None


def test_config_name_for_an_unknown_siren() -> None:
    d, _ = directory(b"siren,nom\n253514491,SIVU de la Vilaine\n")
    assert d.describe("253514491", "other").nom == "SIVU de la Vilaine"


def test_invalid_siren_is_described_without_calling_the_resolver() -> None:
    d, resolver = directory()
    weird = d.describe("123456789", "X")
    assert weird.kind == "autre" and weird.siret is None
    assert resolver.asked == []


def test_describe_is_memoised() -> None:
    d, resolver = directory(answers={"243500139": "24350013900189"})
    first = d.describe("243500139")
    assert d.describe("243500139") is first
    assert resolver.asked == ["243500139"]


def test_config_defaults_are_none() -> None:
    d, _ = directory(b"siren,open_data,documents,annexes\n213502388,non,,oui\n")
    assert d.config("213502388") == CollectiviteConfig(siren="213502388", open_data=False, annexes=True)
    assert d.config("243500139") == CollectiviteConfig(siren="243500139")
    assert d.configured_sirens() == ["213502388"]


def test_directory_without_resolver() -> None:
    d = CollectiviteDirectory(REFERENCE, {}, None)
    assert d.describe("213502388").siret is None
    assert d.describe("213502388").nom == "Rennes"
