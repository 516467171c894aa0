"""The back-office: the write API (``/admin/v1``), its identity, tokens, queue and storage."""
