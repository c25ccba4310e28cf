"""Benchmarks of the oCore usage service, run with ``make bench``.

Every figure is a ratio against a floor measured in the same run on the same machine, never a
bare time: these machines are noisy.
"""
