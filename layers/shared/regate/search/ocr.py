"""OCR out of the normaliser: the messages between the normaliser and the OCR function.

In AWS the normaliser's package has no room for tesserocr + Pillow (pyarrow fills the 250 MB), so a scan
it extracts is stored ``ocr_indisponible``. When ``REGATE_SEARCH_OCR_QUEUE_URL`` is set it then sends one
:class:`OcrRequest` per such document; the OCR function (``functions/ocr``: OCR wheels, no pyarrow/duckdb)
runs :func:`regate.normalize.search_stage.ocr_document` (the same bounded extraction, with OCR), which
writes the text store entry, then sends a :class:`Renormalisation` to the normaliser's queue: the
normaliser stays the only writer of the index, and that run finds the text in the store.

The request only says *which* document; the OCR step reads the act's **current** record and extracts only
if the act is still ``publier`` and the document is still one of its public documents (nothing withheld is
read). A request for anything else is dropped with its reason; a hostile body is refused by the models.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from regate.storage import layout

_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
OCR_UNAVAILABLE = "ocr_indisponible"
SQS_BATCH = 10  # SendMessageBatch maximum


class OcrRequest(BaseModel):
    """Normaliser → OCR function: one document of one act, stored ``ocr_indisponible``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["regate.ocr/1"] = "regate.ocr/1"
    id_e: str = Field(pattern=_ID)
    id_d: str = Field(pattern=_ID)
    siren: str = Field(pattern=r"^\d{9}$")
    annee: int = Field(ge=1000, le=9999)
    document_id: str = Field(pattern=r"^[0-9a-f]{8,64}$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    @property
    def record_key(self) -> str:
        return layout.record_key(self.siren, self.annee, self.id_e, self.id_d)


class Renormalisation(BaseModel):
    """OCR function → normaliser's queue: normalise this act again (forced: its record did not change)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["regate.renormaliser/1"] = "regate.renormaliser/1"
    id_e: str = Field(pattern=_ID)
    id_d: str = Field(pattern=_ID)
    motif: Literal["ocr"] = "ocr"

    @field_validator("id_e", "id_d")
    @classmethod
    def _safe(cls, value: str) -> str:
        return layout.safe_segment(value)


def parse_renormalisation(body: Any) -> Renormalisation | None:
    """The body is a :class:`Renormalisation` (validated), or ``None`` when it does not claim to be one."""
    if isinstance(body, dict) and body.get("type") == "regate.renormaliser/1":
        return Renormalisation.model_validate(body)
    return None


def send_messages(sqs: Any, queue_url: str, messages: Iterable[BaseModel]) -> int:
    """Send ``messages`` (JSON) in batches of 10; raises if SQS refuses any. Returns how many were sent."""
    bodies = [m.model_dump_json() for m in messages]
    for start in range(0, len(bodies), SQS_BATCH):
        chunk = bodies[start : start + SQS_BATCH]
        entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)]
        failed = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed") or []
        if failed:
            raise RuntimeError(f"SQS a refusé {len(failed)} message(s) : {failed[0].get('Code')}")
    return len(bodies)


def make_sqs_client(settings: Any) -> Any:
    import boto3

    return boto3.client("sqs", region_name=settings.s3_region)
