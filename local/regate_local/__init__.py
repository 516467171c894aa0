"""Rég@te rehearsal kit: simulators, local runtime and sample data — never shipped in the Lambda layer."""
