"""Rég@te's rehearsal kit: simulators, generators and sample-data builders for tests, demo and benches.

Never shipped in the Lambda layer (it is not under ``layers/``); it may import the product package
``regate``, the product never imports it.
"""
