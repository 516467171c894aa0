"""Fixtures of the capture integration tests (defined in ``capture_sim_fixtures``)."""

from capture_sim_fixtures import capture, clock, make_client, sim, sim_url  # noqa: F401
