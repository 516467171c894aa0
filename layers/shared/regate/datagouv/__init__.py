"""Publication to data.gouv.fr / udata: client, publisher, state, catalogue, triggers (and the simulator)."""
