"""Settings come from the template's environment: defaults for absent variables, whole numbers checked."""

from __future__ import annotations

import pytest

from ocore_usage.settings import Settings
from tests.support.template import template


def test_the_template_sets_every_setting_but_the_batch_size():
    # GIVEN the variables the template gives the functions (Globals and each function's own)
    document = template()
    names = set(document["Globals"]["Function"]["Environment"]["Variables"])
    for resource in document["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            names |= set((resource["Properties"].get("Environment") or {}).get("Variables") or {})
    # WHEN / THEN each setting but ROLLUP_BATCH_MARKS (a tuning knob, default 2000) is one of them
    settings = {name.upper() for name in Settings.__dataclass_fields__}
    assert settings - names == {"ROLLUP_BATCH_MARKS"}


def test_absent_variables_take_the_defaults_and_others_are_ignored():
    settings = Settings.from_environ({"WORK_TABLE": "work-prod", "ROLLUP_CONCURRENCY": "9", "PATH": "/usr/bin"})
    assert (settings.work_table, settings.rollup_concurrency) == ("work-prod", 9)
    assert (settings.samples_table, settings.rollup_batch_marks, settings.stage) == ("ocore-usage-samples", 2000, "dev")


@pytest.mark.parametrize(
    ("variable", "text"),
    [
        ("ROLLUP_BATCH_MARKS", "0"),
        ("ROLLUP_BATCH_MARKS", ""),
        ("ROLLUP_BATCH_MARKS", "many"),
        ("ROLLUP_BATCH_MARKS", "\uff12\uff10"),  # full-width digits
        ("ROLLUP_CONCURRENCY", "1"),  # the dispatcher needs a worker beside it
    ],
)
def test_a_whole_number_out_of_range_fails_naming_the_variable(variable, text):
    with pytest.raises(ValueError, match=variable):
        Settings.from_environ({variable: text})
