"""Publication to data.gouv.fr / udata: client, publisher, state, catalogue, triggers.

Its simulator is in the local kit (``regate_local.datagouv_sim``), never in the Lambda layer."""
