"""``python -m benchmarks``: run every benchmark and print its ratios."""

from benchmarks import cold_init

if __name__ == "__main__":
    cold_init.main()
