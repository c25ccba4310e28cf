"""The sample an ingest test starts from, and the recorded ingest event it is posted in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

INGEST_EVENT = json.loads((Path(__file__).resolve().parents[2] / "events" / "ingest_samples.json").read_text())
NOW = "2026-11-26T02:30:00Z"
"""An instant at which ``sample()`` lies inside the accepted window."""


def sample(**overrides: Any) -> dict[str, Any]:
    """One valid sample as an agent sends it, with ``overrides`` applied."""
    base = {
        "sampleId": "s-1",
        "projectId": "proj_web",
        "instanceId": "web-1",
        "intervalStart": "2026-11-26T01:55:00Z",
        "intervalSeconds": 300,
        "cpuCores": 2,
        "ramGb": 4.5,
        "diskGb": 40,
        "bandwidthInBytes": 1000,
        "bandwidthOutBytes": 7,
    }
    return {**base, **overrides}
