"""The embedded local runtime: the real handlers wired to S3 events on loopback (``regate demo``)."""
