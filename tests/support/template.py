"""template.yaml for the tests, read by the local runner's loader (:mod:`local.template`), the one
parser of the template: its document, its tables as written, and those tables created on any
DynamoDB client (moto or DynamoDB Local). Tests never restate a key schema.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from local.template import Template, load_yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
LOGICAL_TABLE_NAMES = {
    "samples": "SamplesTable",
    "work": "WorkTable",
    "rollups": "RollupsTable",
    "projects": "ProjectsTable",
}
"""The service's tables by role, as :func:`create_tables` names them: by their logical ids."""


@cache
def template() -> dict[str, Any]:
    """The document, short tags in their long form (``!Ref X`` is ``{"Ref": "X"}``)."""
    return load_yaml(TEMPLATE.read_text(encoding="utf-8"))


@cache
def local_template() -> Template:
    """The template as the local stack runs it."""
    return Template.load(TEMPLATE)


def table_definitions() -> dict[str, dict[str, Any]]:
    """Logical id -> Properties of every AWS::DynamoDB::Table, as the template writes them."""
    return {
        name: resource["Properties"]
        for name, resource in template()["Resources"].items()
        if resource["Type"] == "AWS::DynamoDB::Table"
    }


def create_tables(client: Any) -> None:
    """Create every table of the template on ``client``, named by its logical id."""
    for table in local_template().tables.values():
        client.create_table(**table.create_table_request())
