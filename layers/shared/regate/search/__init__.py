"""Full-text search of public acts: text extraction, a French index on S3, and the query function.

The public interface (what the normaliser and the API call):

* :class:`~regate.search.documents.PublicDocument` — a document the caller declared public (refuses others);
* :func:`~regate.search.extract.extract_public_document`, :class:`~regate.search.extract.ExtractionWorker`,
  :class:`~regate.search.textstore.TextStore` (``_text/{sha256}.json``, never redone for an unchanged file);
* :class:`~regate.search.index.IndexEntry` / :class:`~regate.search.index.IndexedDocument` — what is indexed;
* :class:`~regate.search.remote.IndexUpdater` (add / replace / delete acts) and
  :class:`~regate.search.remote.IndexReader` (the API's copy in ``/tmp``);
* :func:`~regate.search.engine.search` → :class:`~regate.search.engine.SearchResult`;
  :class:`~regate.search.query.SearchQueryError` is a 422.
"""
