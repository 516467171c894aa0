"""Fixtures of the capture unit tests (defined in ``capture_fakes``)."""

from capture_fakes import client_for, fake_clock, fake_http  # noqa: F401
