"""Read answers decoded by ``json`` equal what botocore's own parser makes of them."""

from __future__ import annotations

import base64
import json
from typing import Any

import botocore.session
import pytest
from botocore.parsers import create_parser
from hypothesis import given
from hypothesis import strategies as st

from ocore_usage.storage.tables import Table
from ocore_usage.storage.wire import READ_OPERATIONS, decode_answer, decode_with_json

_MODEL = botocore.session.get_session().get_service_model("dynamodb")
_NAMES = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=8)
_NUMBERS = st.integers(-(10**30), 10**30).map(lambda n: {"N": str(n)})
_SCALAR = (
    st.text(max_size=12).map(lambda s: {"S": s})
    | _NUMBERS
    | st.booleans().map(lambda b: {"BOOL": b})
    | st.just({"NULL": True})
    | st.sets(st.text(max_size=5), min_size=1, max_size=3).map(lambda s: {"SS": sorted(s)})
)
_VALUE = st.recursive(
    _SCALAR,
    lambda inner: (
        st.lists(inner, max_size=3).map(lambda v: {"L": v})
        | st.dictionaries(_NAMES, inner, max_size=3).map(lambda v: {"M": v})
    ),
    max_leaves=12,
)
_ITEM = st.dictionaries(_NAMES, _VALUE, min_size=1, max_size=6)
_ANSWERS: dict[str, Any] = {
    "Query": st.fixed_dictionaries(
        {"Items": st.lists(_ITEM, max_size=5), "Count": st.integers(0, 5), "ScannedCount": st.integers(0, 5)},
        optional={
            "LastEvaluatedKey": _ITEM,
            "ConsumedCapacity": st.just({"TableName": "t", "CapacityUnits": 1.5}),
        },
    ),
    "GetItem": st.fixed_dictionaries({}, optional={"Item": _ITEM}),
    "BatchGetItem": st.fixed_dictionaries(
        {
            "Responses": st.dictionaries(st.sampled_from(["a", "b"]), st.lists(_ITEM, max_size=3), max_size=2),
            "UnprocessedKeys": st.dictionaries(
                st.sampled_from(["a", "b"]), st.lists(_ITEM, min_size=1, max_size=2).map(lambda k: {"Keys": k})
            ),
        }
    ),
}


def _answer(body: bytes, status: int = 200) -> dict[str, Any]:
    return {"body": body, "headers": {"x-amzn-requestid": "r1"}, "status_code": status}


def _parsed(operation: str, answer: dict[str, Any], *, with_json: bool) -> dict[str, Any]:
    customized: dict[str, Any] = {}
    if with_json:
        decode_answer(answer, customized)
    parsed: dict[str, Any] = create_parser("json").parse(answer, _MODEL.operation_model(operation).output_shape)
    parsed.update(customized)
    return parsed


@pytest.mark.parametrize("operation", READ_OPERATIONS)
@given(data=st.data())
def test_a_decoded_answer_equals_botocore_s(operation: str, data: st.DataObject) -> None:
    body = json.dumps(data.draw(_ANSWERS[operation]), separators=(",", ":")).encode()
    assert _parsed(operation, _answer(body), with_json=True) == _parsed(operation, _answer(body), with_json=False)


def test_an_answer_with_a_binary_value_and_an_error_keep_botocore_s_parser() -> None:
    blob = json.dumps({"Item": {"k": {"B": base64.b64encode(b"\x00\x01").decode()}}}).encode()
    error = json.dumps({"__type": "ResourceNotFoundException", "message": "no table"}).encode()
    for body, status in ((blob, 200), (error, 400)):
        answer, customized = _answer(body, status), {}
        decode_answer(answer, customized)
        assert customized == {} and answer["body"] == body
    assert _parsed("GetItem", _answer(blob), with_json=True)["Item"] == {"k": {"B": b"\x00\x01"}}


def test_a_client_that_decodes_with_json_reads_what_a_plain_one_reads(dynamodb: Any) -> None:
    plain = Table(dynamodb, "ProjectsTable")
    items = [
        {"projectId": f"p{n}", "orgId": "org_a", "activeOrgId": "org_a", "name": f"n{n}", "deleted": False}
        for n in range(30)
    ]
    plain.batch_write([*items, {"projectId": "blob", "orgId": "org_b", "raw": b"\x00\xff", "tags": {"a", "b"}}])
    keys = [{"projectId": f"p{n}"} for n in range(0, 40, 3)] + [{"projectId": "blob"}]

    def reads() -> tuple[Any, ...]:
        return (
            plain.get({"projectId": "p7"}),
            sorted(plain.batch_get(keys), key=str),
            plain.get({"projectId": "blob"}),
            list(plain.query("org_a", index="ActiveByOrg", pk_name="activeOrgId", sk_name="projectId")),
        )

    before = reads()
    decode_with_json(dynamodb)
    after = reads()
    assert after == before
    assert after[0] == items[7] and len(after[1]) == 11 and len(after[3]) == 30
    assert after[2]["raw"] == b"\x00\xff" and after[2]["tags"] == {"a", "b"}
