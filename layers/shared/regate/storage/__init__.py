"""The one place that knows where things live in the raw and curated buckets."""

from regate.storage import layout
from regate.storage.store import ObjectStore, PutResult, make_s3_client

__all__ = ["ObjectStore", "PutResult", "layout", "make_s3_client"]
