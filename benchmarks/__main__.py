"""``python -m benchmarks``: run every benchmark and print its ratios."""

from benchmarks import cold_init, read_latency, write_cost

if __name__ == "__main__":
    cold_init.main()
    write_cost.main()
    read_latency.main()
