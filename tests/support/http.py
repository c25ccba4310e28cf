"""Plain HTTP calls to the local stack, with JSON numbers read as exact Decimals."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

from ocore_usage.api import jsonnum


def request(method: str, url: str, token: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else jsonnum.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Authorization": f"Bearer {token}"})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, json.loads(response.read(), parse_float=Decimal)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null", parse_float=Decimal)


def rounded(value: Fraction) -> Decimal:
    """An exact value as the API renders it: half-even to 6 decimals."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)
