"""Each function reads the variables it uses from the environment the template gives it, and fails
naming any it lacks; whole numbers are checked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto import mock_aws

from functions.authorizer import app as authorizer_app
from ocore_usage import wiring
from ocore_usage.settings import ROLLUP_BATCH_MARKS, MissingSetting, flag_setting, whole_setting
from tests.support.template import local_template

TABLES = {"SAMPLES_TABLE", "WORK_TABLE", "ROLLUPS_TABLE", "PROJECTS_TABLE"}
READ = {"WORK_TABLE", "ROLLUPS_TABLE", "PROJECTS_TABLE", "PAGINATION_KEY_PARAMETER"}

# What each function's first request builds, and the variables that build reads.
BUILDS: dict[str, tuple[Callable[[], Any], set[str]]] = {
    "AuthorizerFunction": (
        authorizer_app.verifier.__wrapped__,
        {"JWT_ISSUER", "JWT_AUDIENCE", "JWT_ALGORITHMS", "JWT_SECRET_PARAMETER", "JWKS_URL"},
    ),
    "GetProjectUsageFunction": (wiring.read_service.__wrapped__, READ),
    "GetUsageFunction": (wiring.read_service.__wrapped__, READ),
    "GetUsageTotalsFunction": (wiring.read_service.__wrapped__, READ),
    "IngestSamplesFunction": (wiring.ingest_service.__wrapped__, {"SAMPLES_TABLE", "WORK_TABLE"}),
    "RollupFunction": (
        lambda: (wiring.rollup_service.__wrapped__(), wiring.rollup_dispatcher.__wrapped__("RollupFunction")),
        TABLES | {"ROLLUP_CONCURRENCY"},
    ),
    "ProjectSyncFunction": (wiring.project_sync.__wrapped__, {"PROJECTS_TABLE", "WORK_TABLE"}),
    "ApiDocsFunction": (lambda: None, set()),
}


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[dict[str, str]], None]]:
    """Sets the process environment to a function's variables (and a region), nothing else of the template's."""
    every = {name for function in local_template().functions.values() for name in function.environment}

    def use(variables: dict[str, str]) -> None:
        for name in every | {"ROLLUP_BATCH_MARKS"}:
            monkeypatch.delenv(name, raising=False)
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        wiring.tables.cache_clear()

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield use
    wiring.tables.cache_clear()


def test_every_function_is_described():
    assert set(BUILDS) == set(local_template().functions)


@pytest.mark.parametrize("logical_id", sorted(BUILDS))
def test_each_function_gets_what_it_reads_and_fails_naming_what_it_lacks(logical_id, environ):
    build, reads = BUILDS[logical_id]
    variables = local_template().function(logical_id).environment
    # GIVEN the variables the template gives the function, WHEN its first request builds what it uses
    environ(variables)
    build()  # THEN nothing is missing
    # AND without any one variable it reads, the build fails naming that variable; without any other, it builds
    missing = set()
    for variable in variables:
        environ({name: value for name, value in variables.items() if name != variable})
        try:
            build()
        except MissingSetting as error:
            assert (error.variable, variable in str(error)) == (variable, True)
            missing.add(variable)
    assert missing == reads


def test_the_batch_size_is_a_tuning_knob_with_a_default():
    assert whole_setting("ROLLUP_BATCH_MARKS", 1, {}, default=ROLLUP_BATCH_MARKS) == 2000
    assert whole_setting("ROLLUP_BATCH_MARKS", 1, {"ROLLUP_BATCH_MARKS": "7"}, default=ROLLUP_BATCH_MARKS) == 7
    with pytest.raises(MissingSetting, match="ROLLUP_CONCURRENCY"):
        whole_setting("ROLLUP_CONCURRENCY", 2, {})


@pytest.mark.parametrize(
    ("variable", "text", "minimum"),
    [
        ("ROLLUP_BATCH_MARKS", "0", 1),
        ("ROLLUP_BATCH_MARKS", "", 1),
        ("ROLLUP_BATCH_MARKS", "many", 1),
        ("ROLLUP_BATCH_MARKS", "\uff12\uff10", 1),  # full-width digits
        ("ROLLUP_CONCURRENCY", "1", 2),  # the dispatcher needs a worker beside it
    ],
)
def test_a_whole_number_out_of_range_fails_naming_the_variable(variable, text, minimum):
    with pytest.raises(ValueError, match=variable):
        whole_setting(variable, minimum, {variable: text})


def test_the_legacy_identities_switch_is_off_unless_set_to_true_and_refuses_anything_else(environ):
    assert (flag_setting("READ_LEGACY_IDENTITIES", {}), flag_setting("X", {"X": "true"})) == (False, True)
    with pytest.raises(ValueError, match="READ_LEGACY_IDENTITIES"):
        flag_setting("READ_LEGACY_IDENTITIES", {"READ_LEGACY_IDENTITIES": "yes"})
    # the template's value reaches the index of both functions that read identities
    variables = local_template().function("IngestSamplesFunction").environment
    assert variables["READ_LEGACY_IDENTITIES"] == "false"
    environ({**variables, "READ_LEGACY_IDENTITIES": "true"})
    assert wiring.ingest_service.__wrapped__().samples.index.legacy
    environ({**local_template().function("RollupFunction").environment, "READ_LEGACY_IDENTITIES": "true"})
    assert wiring.rollup_service.__wrapped__().samples.index.legacy
