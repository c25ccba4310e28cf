"""``make bench`` runs end to end: every benchmark, on a small scale, prints its table.

The figures are not checked (timed assertions do not belong in tests); what is checked is that
the benchmarks still run against the code they measure, so a change that breaks one fails here
rather than on the next ``make bench``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SMALL = {
    "BENCH_ROUNDS": "1",
    "BENCH_READ_ROUNDS": "3",
    "BENCH_SAMPLES": "300",
    "BENCH_POST_ROUNDS": "1",
    "BENCH_STEADY_INSTANCES": "10",
}


def test_every_benchmark_runs_and_prints_its_ratios() -> None:
    environment = {**os.environ, **SMALL, "PYTHONPATH": os.pathsep.join(("layers/shared", "."))}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for heading in (
        "cold start,",
        "DynamoDB capacity per sample",
        "steady, 5 min",
        "1,000-sample POST vs",
        "read latency, p50",
    ):
        assert heading in done.stdout, done.stdout
    assert "RollupFunction" in done.stdout and "x floor" in done.stdout
