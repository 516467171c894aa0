"""The native engine (pyarrow) gives exactly the Python engine's report, in both modes, on any input.

Differential: every corpus file (``tests/fixtures/scdl/**``, outside corpus included), generated files with
one injected error of every kind, and hostile inputs, validated with ``engine="python"`` and
``engine="native"``; the whole reports (verdict, errors with row/column/code/message in order, warnings,
counts, encoding, delimiter, header row, truncation) must be equal. Other tests prove the native path really
certifies (it is not a path that always falls back) and that it is chosen as the settings say.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regate.scdl import validator
from regate.scdl.schema import TableSchema
from regate.scdl.validator import load_schema, validate_csv

FIXTURES = Path(__file__).parents[2] / "fixtures/scdl"
CORPUS = sorted(FIXTURES.rglob("*.csv"))
SCHEMA = load_schema("scdl/deliberations", "2.1.5")
HEADER = (
    "COLL_NOM,COLL_SIRET,DELIB_ID,DELIB_DATE,DELIB_MATIERE_CODE,DELIB_MATIERE_NOM,DELIB_OBJET,BUDGET_ANNEE,"
    "BUDGET_NOM,PREF_ID,PREF_DATE,VOTE_EFFECTIF,VOTE_REEL,VOTE_POUR,VOTE_CONTRE,VOTE_ABSTENTION,DELIB_URL"
)
CELLS = [
    "Ville de Poitiers",
    "21860194600013",
    "1DL15494",
    "2017-10-15",
    "8.4",
    "domaines de compétences par thèmes/aménagement du territoire",
    '"Convention ""Petites villes de demain"", avenant n° 2"',
    "2017/2018",
    "Budget annexe déchets",
    "PREF086",
    "2017-10-20",
    "43",
    "40",
    "25",
    "10",
    "5",
    "https://data.example.org/delib/1DL15494.pdf",
]
COL = {name: k for k, name in enumerate(HEADER.split(","))}


def _line(**changes: str) -> str:
    cells = list(CELLS)
    for name, value in changes.items():
        cells[COL[name]] = value
    return ",".join(cells)


def _file(lines: list[str], *, newline: str = "\r\n", header: str = HEADER) -> bytes:
    return (newline.join([header, *lines]) + newline).encode("utf-8")


def _valid_lines(count: int) -> list[str]:
    lines = []
    for k in range(count):
        changes = {"DELIB_ID": f"DL{k:06d}", "DELIB_DATE": f"2020-{1 + k % 12:02d}-{1 + k % 28:02d}"}
        changes["PREF_DATE"] = changes["DELIB_DATE"]
        if k % 3 == 0:
            changes.update(VOTE_EFFECTIF="", VOTE_REEL="", VOTE_POUR="", VOTE_CONTRE="", VOTE_ABSTENTION="")
        if k % 4 == 0:
            changes.update(BUDGET_ANNEE="", BUDGET_NOM="")
        if k % 2:
            changes.update(DELIB_URL="", DELIB_OBJET='"Attribution du marché, lot 2"')
        lines.append(_line(**changes))
    return lines


@pytest.fixture(autouse=True)
def _small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """64 KiB pyarrow blocks: the generated files span many batches (memo and checks across batches)."""
    from regate.scdl.validation import native

    monkeypatch.setattr(native, "BLOCK_SIZE", 1 << 16)


def _both(data: bytes, schema: TableSchema = SCHEMA) -> None:
    for strict in (True, False):
        python = validate_csv(data, schema, strict=strict, engine="python")
        native = validate_csv(data, schema, strict=strict, engine="native")
        assert native.model_dump() == python.model_dump(), f"strict={strict}"


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_corpus_file_same_report(path: Path) -> None:
    _both(path.read_bytes())


def test_corpus_is_really_certified_natively(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a path that always falls back: most valid corpus files are certified by pyarrow."""
    from regate.scdl.validation import native

    certified = []
    real = native.certify_rows

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        certified.append(result is not None)
        return result

    monkeypatch.setattr(native, "certify_rows", spy)
    for path in CORPUS:
        validate_csv(path.read_bytes(), SCHEMA, strict=False, engine="native")
    assert sum(certified) >= 50, sum(certified)
    assert not all(certified)


def test_valid_generated_file_is_certified() -> None:
    from regate.scdl.validation import native

    data = _file(_valid_lines(3000))
    seen = []
    real = native.certify_rows
    native.certify_rows = lambda *a, **k: seen.append(real(*a, **k)) or seen[-1]
    try:
        report = validate_csv(data, SCHEMA, strict=True, engine="native")
    finally:
        native.certify_rows = real
    assert report.valid and report.rows == 3000
    assert seen == [3000]
    _both(data)


INJECTED = {
    "siret_luhn": {"COLL_SIRET": "21860194600014"},
    "siret_pattern": {"COLL_SIRET": "2186019460001"},
    "siret_arabic_digits": {"COLL_SIRET": "٢١٨٦٠١٩٤٦٠٠٠١٣"},
    "required_empty": {"COLL_NOM": ""},
    "date_invalid": {"DELIB_DATE": "2017-02-30"},
    "date_lenient": {"DELIB_DATE": "2017-3-5", "PREF_DATE": "2017-03-06"},
    "date_french": {"PREF_DATE": "20/10/2017"},
    "compare_dates": {"PREF_DATE": "2017-10-01"},
    "integer_sign": {"VOTE_EFFECTIF": "+43"},
    "integer_space": {"VOTE_EFFECTIF": " 43"},
    "integer_decimal": {"VOTE_POUR": "25.0"},
    "integer_giant": {"VOTE_EFFECTIF": "9" * 5000},
    "integer_beyond_int64": {
        "VOTE_EFFECTIF": "99999999999999999999",
        "VOTE_REEL": "99999999999999999990",
        "VOTE_POUR": "99999999999999999975",
    },
    "compare_votes": {"VOTE_EFFECTIF": "39"},
    "sum_votes": {"VOTE_POUR": "24"},
    "cohesive_votes": {"VOTE_CONTRE": ""},
    "cohesive_budget": {"BUDGET_NOM": ""},
    "pattern_matiere": {"DELIB_MATIERE_CODE": "8.444"},
    "nomenclature": {"DELIB_MATIERE_NOM": "Urbanisme /droit"},
    "nomenclature_no_slash": {"DELIB_MATIERE_NOM": "Urbanismes"},
    "year_interval": {"BUDGET_ANNEE": "2018/2017"},
    "year_pattern": {"BUDGET_ANNEE": "17"},
    "uri": {"DELIB_URL": "data.example.org/x.pdf"},
    "uri_unicode_scheme": {"DELIB_URL": "é:x"},
    "huge_cell": {"DELIB_OBJET": "x" * 200_000},
    "formula": {"DELIB_OBJET": "=HYPERLINK(1)"},
}


@pytest.mark.parametrize("kind", sorted(INJECTED))
@pytest.mark.parametrize("where", [0, 700, 1499])
def test_injected_error_same_report(kind: str, where: int) -> None:
    lines = _valid_lines(1500)
    cells = lines[where]
    lines[where] = _line(**{**_cells_dict(cells), **INJECTED[kind]})
    _both(_file(lines))


def _cells_dict(line: str) -> dict[str, str]:
    import csv

    row = next(csv.reader([line]))
    out = {}
    for name, value in zip(HEADER.split(","), row, strict=True):
        if '"' in value or "," in value:
            value = '"' + value.replace('"', '""') + '"'
        out[name] = value
    return out


RAW_INJECTIONS = {
    "blank_line": "",
    "delimiters_only": "," * 16,
    "extra_cell": _line() + ",extra",
    "missing_cell": ",".join(CELLS[:-1]),
    "embedded_newline": _line(DELIB_OBJET='"deux\nlignes"'),
    "embedded_crlf": _line(DELIB_OBJET='"deux\r\nlignes"'),
    "mid_quote": _line(DELIB_OBJET='ab"c'),
    "text_after_quote": _line(DELIB_OBJET='"ab"c'),
    "space_before_quote": _line(DELIB_OBJET=' "ab"'),
    "space_after_quote": _line(DELIB_OBJET='"ab" '),
    "unclosed_quote": _line(DELIB_URL='"https://x.org/a'),
    "nul_byte": _line(DELIB_OBJET="a\x00b"),
    "lone_cr": _line(DELIB_OBJET="a\rb"),
    "bad_utf8": "BROKEN",
    "semicolons": _line().replace(",", ";"),
    "tab": _line().replace(",", "\t"),
}


@pytest.mark.parametrize("kind", sorted(RAW_INJECTIONS))
@pytest.mark.parametrize("where", [0, 700, 1499])
def test_hostile_line_same_report(kind: str, where: int) -> None:
    lines = _valid_lines(1500)
    lines[where] = RAW_INJECTIONS[kind]
    data = _file(lines)
    if kind == "bad_utf8":
        data = data.replace(b"BROKEN", _line().encode().replace(b"\xc3\xa9", b"\xe9", 1))
    _both(data)


@pytest.mark.parametrize(
    "variant",
    [
        "lf",
        "cr_only",
        "bom",
        "bom_quoted_header",
        "quoted_header",
        "semicolon_file",
        "no_final_newline",
        "trailing_blank_lines",
        "title_line",
        "skipinitialspace",
        "cp1252",
        "utf16",
        "header_only",
    ],
)
def test_file_variants_same_report(variant: str) -> None:
    lines = _valid_lines(2000)
    data = _file(lines)
    if variant == "lf":
        data = _file(lines, newline="\n")
    elif variant == "cr_only":
        data = _file(lines, newline="\r")
    elif variant == "bom":
        data = b"\xef\xbb\xbf" + data
    elif variant == "bom_quoted_header":
        data = b"\xef\xbb\xbf" + _file(lines, header=",".join(f'"{h}"' for h in HEADER.split(",")))
    elif variant == "quoted_header":
        data = _file(lines, header=",".join(f'"{h}"' for h in HEADER.split(",")))
    elif variant == "semicolon_file":
        data = _file([x.replace(",", ";") for x in lines], header=HEADER.replace(",", ";"))
    elif variant == "no_final_newline":
        data = data.rstrip(b"\r\n")
    elif variant == "trailing_blank_lines":
        data += b"\r\n\r\n"
    elif variant == "title_line":
        data = b"Deliberations 2020\r\n" + data
    elif variant == "skipinitialspace":
        data = _file([x.replace(",", ", ") for x in lines], header=HEADER.replace(",", ", "))
    elif variant == "cp1252":
        data = data.decode("utf-8").replace("’", "'").encode("cp1252", errors="replace")
    elif variant == "utf16":
        data = data.decode("utf-8").encode("utf-16")
    elif variant == "header_only":
        data = _file([])
    _both(data)


def test_error_cap_same_report() -> None:
    """1 500 bad rows: the Python path decides (cap 1 000 in Validata mode), the same list either way."""
    lines = [_line(COLL_SIRET="21860194600014") for _ in range(1500)]
    _both(_file(lines))


def test_row_limit_same_report() -> None:
    """Validata's row limit (> 100 000 data rows): table-dimensions, counted the same natively."""
    data = _file([_line()] * 100_001)
    python = validate_csv(data, SCHEMA, strict=False, engine="python")
    native = validate_csv(data, SCHEMA, strict=False, engine="native")
    assert native.model_dump() == python.model_dump()
    assert [e.code for e in native.errors] == ["table-dimensions"]


def test_generic_constraints_same_report() -> None:
    """Constraints the délibérations schema does not use (enum, lengths, bounds, other types)."""
    schema = TableSchema.model_validate(
        {
            "name": "generic",
            "fields": [
                {"name": "code", "type": "string", "constraints": {"enum": ["A", "B"], "required": True}},
                {"name": "label", "type": "string", "constraints": {"minLength": 2, "maxLength": 5}},
                {"name": "n", "type": "integer", "constraints": {"minimum": 0, "maximum": 10}},
                {"name": "x", "type": "number"},
                {"name": "y", "type": "year"},
                {"name": "ok", "type": "boolean"},
                {"name": "mail", "type": "string", "format": "email"},
                {"name": "d", "type": "date", "format": "%d/%m/%Y"},
            ],
        }
    )
    good = "A,abc,3,1.5,2020,true,a@b.fr,01/02/2020"
    cases = [
        good,
        "C,abc,3,1.5,2020,true,a@b.fr,01/02/2020",
        "A,a,3,1.5,2020,true,a@b.fr,01/02/2020",
        "A,abcdef,3,1.5,2020,true,a@b.fr,01/02/2020",
        "A,abc,11,1.5,2020,true,a@b.fr,01/02/2020",
        "A,abc,-1,1.5,2020,true,a@b.fr,01/02/2020",
        "A,abc,3,x,2020,true,a@b.fr,01/02/2020",
        "A,abc,3,1.5,20,true,a@b.fr,01/02/2020",
        "A,abc,3,1.5,2020,yes,a@b.fr,01/02/2020",
        "A,abc,3,1.5,2020,true,ab.fr,01/02/2020",
        "A,abc,3,1.5,2020,true,a@b.fr,2020-02-01",
        ",,,,,,,",
    ]
    header = "code,label,n,x,y,ok,mail,d"
    for case in cases:
        lines = [good] * 50
        lines[25] = case
        _both(("\n".join([header, *lines]) + "\n").encode(), schema)


def test_engine_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(validator.ENGINE_ENV, "python")
    assert not validator._native_wanted(None, 10**9)
    monkeypatch.setenv(validator.ENGINE_ENV, "native")
    assert validator._native_wanted(None, 10)
    monkeypatch.setenv(validator.ENGINE_ENV, "turbo")
    with pytest.raises(ValueError, match="REGATE_VALIDATOR_ENGINE"):
        validator._native_wanted(None, 10)
    monkeypatch.setenv(validator.ENGINE_ENV, "auto")
    assert validator._native_wanted(None, validator.DEFAULT_NATIVE_MIN_BYTES)
    assert validator._native_wanted("python", 10**9) is False


def test_settings_declare_the_same_defaults() -> None:
    from regate.settings import Settings

    fields = Settings.model_fields
    assert fields["validator_engine"].default == validator.DEFAULT_ENGINE
    assert fields["validator_native_min_bytes"].default == validator.DEFAULT_NATIVE_MIN_BYTES


def test_index_lists_corpus() -> None:
    """Guard: the parametrised corpus really is the fixtures (old and outside)."""
    assert len(CORPUS) >= 300
    assert json.loads((FIXTURES / "outside/index.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "sequence",
    [b"\xed\xa0\x80", b"\xc0\x80", b"\xf4\x90\x80\x80", b"\xe0\x80\x80", b"\xff", b"\xc3", b"\xef\xbf\xbf"],
    ids=["surrogate", "overlong2", "beyond_max", "overlong3", "ff", "truncated", "noncharacter_ok"],
)
def test_utf8_edge_sequences_same_report(sequence: bytes) -> None:
    """pyarrow's UTF-8 check and Python's codec agree on what is not UTF-8 (else the reports would differ)."""
    lines = _valid_lines(200)
    data = _file(lines).replace(b"Budget annexe", b"Budget" + sequence + b"annexe", 1)
    _both(data)
