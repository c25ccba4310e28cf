"""The rules of one sample and of a batch: each error named by field, worded as before, and the
published schema of a sample made from the same fields."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest

from ocore_usage.domain.metered import Sample
from ocore_usage.domain.problems import Problem
from ocore_usage.domain.samples import SAMPLE_FIELDS, SAMPLE_SCHEMA, parse_batch, read_sample
from ocore_usage.domain.timeline import parse_rfc3339
from tests.support.samples import NOW, sample


def errors_of(body: Any) -> list[tuple[str, str]]:
    with pytest.raises(Problem) as raised:
        parse_batch(json.dumps(body), parse_rfc3339(NOW))
    return [(e.field, e.message) for e in raised.value.errors]


def test_a_good_sample_is_read_in_integer_units():
    # GIVEN a sample as the body's JSON decodes it (fractions as Decimal)
    found = read_sample(sample(cpuCores=2, ramGb=Decimal("4.5"), intervalSeconds=300), "samples[0]")
    assert isinstance(found, Sample)
    assert (found.key, found.interval.cpu, found.interval.ram, found.interval.duration) == (
        ("proj_web", "s-1"),
        2_000_000,
        4_500_000,
        300_000_000,
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sampleId", 7, "Input should be a valid string"),
        ("sampleId", "s 1", "String should match pattern '^[A-Za-z0-9._:-]{1,128}$'"),
        ("projectId", "proj:web", "String should match pattern '^[A-Za-z0-9._-]{1,64}$'"),
        ("projectId", "proj_web\n", "String should match pattern '^[A-Za-z0-9._-]{1,64}$'"),
        ("instanceId", "w" * 129, "String should match pattern '^[A-Za-z0-9._:-]{1,128}$'"),
        ("intervalStart", 1, "Value error, must be an RFC 3339 date-time string with offset"),
        (
            "intervalStart",
            "2026-11-26",
            "Value error, expected an RFC 3339 date-time with offset, e.g. 2026-11-01T00:00:00Z",
        ),
        ("intervalSeconds", 300.5, "Input should be a valid integer"),
        ("intervalSeconds", True, "Input should be a valid integer"),
        ("intervalSeconds", 0, "Input should be greater than or equal to 1"),
        ("intervalSeconds", 3601, "Input should be less than or equal to 3600"),
        ("cpuCores", "2", "Value error, must be a number"),
        ("ramGb", -1, "Value error, must be a number from 0 to 1000000"),
        ("bandwidthInBytes", 10**15 + 1, "Input should be less than or equal to 1000000000000000"),
        ("bandwidthOutBytes", -1, "Input should be greater than or equal to 0"),
    ],
)
def test_each_bad_field_is_named_with_its_message(field, value, message):
    assert errors_of({"samples": [sample(), sample(**{field: value})]}) == [(f"samples[1].{field}", message)]


def test_missing_and_unknown_fields_are_listed_in_field_order_then_unknown():
    raw = {k: v for k, v in sample(typo=1).items() if k not in ("diskGb", "sampleId")}
    assert errors_of({"samples": [raw]}) == [
        ("samples[0].sampleId", "required"),
        ("samples[0].diskGb", "required"),
        ("samples[0].typo", "unknown field"),
    ]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, [("samples", "required")]),
        ({"samples": {}}, [("samples", "Input should be a valid list")]),
        ({"samples": []}, [("samples", "List should have at least 1 item after validation, not 0")]),
        (
            {"samples": [sample(), 1, [sample()]]},
            [
                ("samples[1]", "Input should be a valid dictionary"),
                ("samples[2]", "Input should be a valid dictionary"),
            ],
        ),
        ({"samples": [sample()], "pad": ""}, [("pad", "unknown field")]),
    ],
)
def test_a_body_that_is_not_a_batch_names_what_is_wrong(body, errors):
    assert errors_of(body) == errors


def test_the_published_schema_of_a_sample_lists_the_fields_it_is_checked_by():
    # GIVEN the schema the OpenAPI document publishes for one sample
    properties = SAMPLE_SCHEMA["properties"]
    # THEN it requires exactly the fields read, in their order, and forbids any other
    assert list(properties) == SAMPLE_SCHEMA["required"] == [field.name for field in SAMPLE_FIELDS]
    assert SAMPLE_SCHEMA["additionalProperties"] is False
    # AND each string pattern it states is the one the field enforces (whole value, no trailing newline)
    for field in SAMPLE_FIELDS:
        pattern = properties[field.name].get("pattern")
        if pattern is not None:
            good = sample()[field.name]
            assert re.search(pattern, good) and field.read(good) == good
            with pytest.raises(ValueError, match=re.escape(pattern)):
                field.read(good + "\n")
