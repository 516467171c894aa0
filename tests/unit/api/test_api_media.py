"""The media-type allow-list and attachment disposition of public documents (``regate.storage.media``)."""

from __future__ import annotations

import pytest

from regate.storage.media import (
    FALLBACK_MEDIA_TYPE,
    attachment_disposition,
    document_media_type,
    object_headers,
    presigned_response_params,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("deliberation.pdf", "application/pdf"),
        ("SCAN.PDF", "application/pdf"),
        ("plan.png", "image/png"),
        ("photo.JPeG", "image/jpeg"),
        ("annexe.odt", "application/vnd.oasis.opendocument.text"),
        ("budget.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("note.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("page.html", FALLBACK_MEDIA_TYPE),
        ("page.htm", FALLBACK_MEDIA_TYPE),
        ("dessin.svg", FALLBACK_MEDIA_TYPE),
        ("flux.xml", FALLBACK_MEDIA_TYPE),
        ("script.js", FALLBACK_MEDIA_TYPE),
        ("deliberation.pdf.html", FALLBACK_MEDIA_TYPE),
        ("sans-extension", FALLBACK_MEDIA_TYPE),
        (".pdf", FALLBACK_MEDIA_TYPE),
        ("", FALLBACK_MEDIA_TYPE),
    ],
)
def test_media_type_comes_from_the_allow_list(name: str, expected: str) -> None:
    assert document_media_type(name) == expected


def test_disposition_is_always_an_attachment() -> None:
    assert attachment_disposition("acte.pdf") == 'attachment; filename="acte.pdf"'
    utf8 = attachment_disposition("Délibération n°12.pdf")
    assert utf8 == (
        'attachment; filename="Deliberation n12.pdf"; '
        "filename*=UTF-8''D%C3%A9lib%C3%A9ration%20n%C2%B012.pdf"
    )
    assert utf8.isascii()


@pytest.mark.parametrize(
    "name", ['a"b.pdf', "a\\b.pdf", "a;b.pdf", "a\r\nSet-Cookie: x.pdf", "\u202e.pdf", ""]
)
def test_hostile_names_cannot_break_the_header(name: str) -> None:
    value = attachment_disposition(name)
    assert value.startswith('attachment; filename="')
    assert "\r" not in value and "\n" not in value and value.isascii()
    ascii_part = value.split('filename="', 1)[1].split('"', 1)[0]
    assert ascii_part and not set(ascii_part) & set('"\\;')


def test_put_and_presign_arguments_agree() -> None:
    assert object_headers("x.png") == {
        "ContentType": "image/png",
        "ContentDisposition": 'attachment; filename="x.png"',
    }
    assert presigned_response_params("x.svg") == {
        "ResponseContentType": FALLBACK_MEDIA_TYPE,
        "ResponseContentDisposition": 'attachment; filename="x.svg"',
    }
