"""DynamoDB's read answers decoded by ``json``, not by botocore's walk of the answer's model.

botocore parses an answer by walking its output shape member by member in Python: for a Query
of sixty rollup items that costs more CPU than the rest of the request. The answers of the
operations that read items (``GetItem``, ``BatchGetItem``, ``Query``) are DynamoDB JSON whose
parsed form is the JSON itself, binary values aside (base64 text in the JSON, ``bytes`` once
parsed). :func:`decode_with_json` gives such a client a ``before-parse`` handler that decodes
the body with ``json`` and leaves botocore an empty one to walk (it still adds the
``ResponseMetadata``). Errors, and answers that may hold a binary value (the service stores
none), keep botocore's parser. The result is the same as botocore's, which a test checks on
generated items.
"""

from __future__ import annotations

import json
from typing import Any, Final

READ_OPERATIONS: Final = ("GetItem", "BatchGetItem", "Query")
_BINARY: Final = (b'"B"', b'"BS"')
"""What a binary value's type looks like in the JSON (an attribute named ``B`` looks the same:
that answer just takes botocore's parser)."""
_EMPTY: Final = b"{}"


def decode_answer(response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any) -> None:
    """botocore's ``before-parse`` event: decode a successful answer without binary values."""
    body = response_dict["body"]
    if response_dict["status_code"] >= 300 or any(marker in body for marker in _BINARY):
        return
    customized_response_dict.update(json.loads(body))
    response_dict["body"] = _EMPTY


def decode_with_json(client: Any) -> None:
    """Make ``client`` (a DynamoDB client) decode its read answers with ``json``."""
    for operation in READ_OPERATIONS:
        client.meta.events.register(
            f"before-parse.dynamodb.{operation}", decode_answer, unique_id=f"ocore-usage-json-{operation}"
        )
