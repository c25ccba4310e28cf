"""Cold init of each function against the floor ``import boto3; boto3.client("dynamodb")``.

Each sample is a fresh interpreter that imports the function's module (what Lambda does at
init), timed from the outside; the floor is timed the same way, interleaved with the functions
so drift affects both. The target is a ratio of at most 1.3 for every function.

The functions create their boto3 clients on first use (``ocore_usage.wiring``), so their init
measured here does not include it: their first request pays for it, as the floor's does.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "app.py").exists())
FLOOR = 'import boto3; boto3.client("dynamodb")'
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
TARGET = 1.3


def _init_code(function: str) -> str:
    return f"import sys; sys.path[:0] = [{str(ROOT / 'functions' / function)!r}]; import app"


def _time(code: str) -> float:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "layers" / "shared"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)
    return time.perf_counter() - started


def main() -> None:
    samples: dict[str, list[float]] = {name: [] for name in ["floor", *FUNCTIONS]}
    _time(FLOOR)  # warm the file cache once
    for _ in range(ROUNDS):
        samples["floor"].append(_time(FLOOR))
        for function in FUNCTIONS:
            samples[function].append(_time(_init_code(function)))
    floor = statistics.median(samples["floor"])
    print(f"cold init, median of {ROUNDS} fresh interpreters; floor = {FLOOR}")
    print(f"{'function':<22} {'ratio':>6}  {'target':>6}")
    for function in FUNCTIONS:
        ratio = statistics.median(samples[function]) / floor
        verdict = "ok" if ratio <= TARGET else "over"
        print(f"{function:<22} {ratio:6.2f}  {TARGET:6.2f}  {verdict}")


if __name__ == "__main__":
    main()
