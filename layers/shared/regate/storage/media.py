"""How a public file is handed to a browser: one allow-list of media types, always as an attachment.

Documents come from collectivités through Pastell: their names and bytes are outside input. Served with a
type guessed from the name, an ``.html`` or ``.svg`` "document" would run script on the storage domain; so
only the formats people publish (PDF, images, office documents) keep their type, everything else is
``application/octet-stream``, and every response says ``Content-Disposition: attachment`` (download,
never render inline). The API applies it to presigned URLs (``ResponseContentType`` /
``ResponseContentDisposition``); whoever writes ``public/documents/`` should store objects with
:func:`object_headers` so that a direct GET of the object says the same.
"""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath
from urllib.parse import quote

FALLBACK_MEDIA_TYPE = "application/octet-stream"

#: File extension (lower case, with the dot) → media type served. Nothing scriptable (HTML, SVG, XML, JS).
DOCUMENT_MEDIA_TYPES: dict[str, str] = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".webp": "image/webp",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".odg": "application/vnd.oasis.opendocument.graphics",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".rtf": "application/rtf",
}


def document_media_type(file_name: str) -> str:
    """The allow-listed media type of ``file_name`` (by extension), else ``application/octet-stream``."""
    return DOCUMENT_MEDIA_TYPES.get(PurePosixPath(file_name).suffix.lower(), FALLBACK_MEDIA_TYPE)


def attachment_disposition(file_name: str) -> str:
    """``attachment`` with an ASCII ``filename`` and the exact UTF-8 name in ``filename*`` (RFC 6266)."""
    name = "".join(c for c in PurePosixPath(file_name).name if c.isprintable()) or "document"
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = "".join(c for c in folded if c not in '"\\;').strip() or "document"
    if ascii_name == name:
        return f'attachment; filename="{ascii_name}"'
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def object_headers(file_name: str) -> dict[str, str]:
    """``put_object`` arguments for a public document: allow-listed type, attachment disposition."""
    return {
        "ContentType": document_media_type(file_name),
        "ContentDisposition": attachment_disposition(file_name),
    }


def presigned_response_params(file_name: str) -> dict[str, str]:
    """``generate_presigned_url`` overrides so S3 answers with the allow-listed type, as an attachment."""
    return {
        "ResponseContentType": document_media_type(file_name),
        "ResponseContentDisposition": attachment_disposition(file_name),
    }
