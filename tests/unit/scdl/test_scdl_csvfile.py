"""The CSV dialect we write: exact bytes, minimal quoting, and it reads back identically."""

from __future__ import annotations

import csv
import io

import pytest

from regate.scdl.csvfile import quote_cell, write_csv


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("plain", "plain"),
        ("", ""),
        ("a,b", '"a,b"'),
        ('il a dit "oui"', '"il a dit ""oui"""'),
        ("ligne\nsuivante", '"ligne\nsuivante"'),
        ("retour\rchariot", '"retour\rchariot"'),
        ("a;b", "a;b"),
        (" espaces ", " espaces "),
        ("’ œ € 😀", "’ œ € 😀"),
    ],
)
def test_quote_cell(cell: str, written: str) -> None:
    assert quote_cell(cell) == written


def test_write_csv_exact_bytes() -> None:
    data = write_csv(["A", "B", "C"], [["1", "x,y", ""], ["2", 'q"q', "é"]])
    assert data == 'A,B,C\r\n1,"x,y",\r\n2,"q""q",é\r\n'.encode()
    assert not data.startswith(b"\xef\xbb\xbf")


def test_write_csv_round_trips_through_a_csv_reader() -> None:
    rows = [["a,b", 'c"d', "e\r\nf"], ["", " ", "😀"]]
    data = write_csv(["X", "Y", "Z"], rows)
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert parsed == [["X", "Y", "Z"], *rows]


def test_write_csv_refuses_ragged_rows() -> None:
    with pytest.raises(ValueError, match="ligne 3"):
        write_csv(["A", "B"], [["1", "2"], ["only one"]])


def test_write_csv_header_only() -> None:
    assert write_csv(["A", "B"], []) == b"A,B\r\n"
