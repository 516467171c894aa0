"""OCR Lambda: one SQS message per scanned document the normaliser stored ``ocr_indisponible``.

This package carries the OCR wheels (tesserocr, Pillow) the normaliser has no room for (pyarrow). Per
message (:class:`regate.search.ocr.OcrRequest`): the act's current record is read, the document is OCRed
only if still public (:func:`regate.search.ocr.ocr_document`, bounded, in an isolated worker), its text
stored in ``_text/{sha256}.json``, then the act is sent back to the normaliser's queue to be normalised
again (the index picks the text up there). Partial batch failure: a malformed message or a failure fails
only its own record (retried, then the DLQ, alarmed).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from regate.normalize.search_stage import ocr_document
from regate.search.extract import ExtractionLimits, ExtractionWorker
from regate.search.ocr import OcrRequest, Renormalisation, make_sqs_client, send_messages
from regate.settings import Settings, get_settings
from regate.storage import ObjectStore, make_s3_client

logger = Logger(service="regate-ocr")
tracer = Tracer(service="regate-ocr")


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context, get_settings())


def handle(
    event: dict[str, Any], context: Any, settings: Settings, s3_client: Any = None, sqs_client: Any = None
) -> dict[str, Any]:
    """Dispatch; dependencies are arguments so tests run the real path on moto."""
    s3 = s3_client or make_s3_client(settings)
    raw, curated = ObjectStore(s3, settings.raw_bucket), ObjectStore(s3, settings.curated_bucket)
    sqs = sqs_client or make_sqs_client(settings)
    limits = ExtractionLimits.from_settings(settings)
    with ExtractionWorker(limits) as worker:

        def one(record: Any) -> dict[str, str]:
            request = OcrRequest.model_validate_json(record.body)
            outcome = ocr_document(request, raw, curated, limits, worker)
            if outcome.statut == "ocr":
                again = Renormalisation(id_e=request.id_e, id_d=request.id_d)
                send_messages(sqs, settings.normalize_queue_url, [again])
            logger.info(
                "ocr", extra={"sha256": request.sha256, "statut": outcome.statut, "motif": outcome.motif}
            )
            return {"statut": outcome.statut, "motif": outcome.motif}

        processor = BatchProcessor(event_type=EventType.SQS)
        return dict(
            process_partial_response(event=event, record_handler=one, processor=processor, context=context)
        )
