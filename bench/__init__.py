"""Benchmarks (``make bench``): each ``*_bench.py`` module exposes ``main(argv) -> None`` and prints
figures measured side by side in one run (medians and ratios: this machine is noisy)."""
