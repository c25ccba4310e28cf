"""The Lambda Invoke API (like ``sam local start-lambda``): function names are the template's logical ids.

``POST /2015-03-31/functions/{FunctionName}/invocations`` runs the function on the request body
(``{}`` when empty), so boto3 ``client("lambda", endpoint_url=...).invoke`` and
``aws lambda invoke --endpoint-url ...`` work unchanged:

- ``RequestResponse`` (default): ``200`` with the function's JSON result; an unhandled error is
  also ``200``, with ``X-Amz-Function-Error: Unhandled`` and ``{errorMessage, errorType, ...}``;
- ``Event`` (the rollup's dispatcher starts its workers so): ``202`` at once, the function runs
  in the background (queued while the function is at its ``ReservedConcurrentExecutions``);
- any other invocation type: ``400 InvalidParameterValueException`` naming it (the product
  uses only these two);
- an unknown function: ``404 ResourceNotFoundException``; a body that is not JSON:
  ``400 InvalidRequestContentException``; one over 6 MB: ``413 RequestTooLargeException``
  (the error shapes botocore parses).

``FunctionName`` may also be a function ARN (the dispatcher invokes its own).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from local.events import HttpRequest, HttpResponse
from local.functions import FunctionHost
from local.template import function_name_of, resource_arn

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
"""Lambda's limit on a synchronous invocation's request payload."""

INVOCATIONS = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")


def service_error(status: int, error_type: str, message: str) -> HttpResponse:
    """An error of the Lambda service itself, as botocore's rest-json parser reads it."""
    body = json.dumps({"Type": "User", "message": message}).encode()
    return HttpResponse(status, [("content-type", "application/json"), ("x-amzn-errortype", error_type)], body)


class LambdaInvokeApi:
    """The Invoke API over a :class:`FunctionHost`: ``__call__`` answers one request."""

    def __init__(self, functions: FunctionHost) -> None:
        self.functions = functions

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found = INVOCATIONS.match(request.path)
        if found is None or request.method != "POST":
            return service_error(404, "UnknownOperationException", f"no operation {request.method} {request.path}")
        name = function_name_of(unquote(found.group("name")))
        if name not in self.functions:
            arn = resource_arn("AWS::Serverless::Function", name)
            return service_error(404, "ResourceNotFoundException", f"Function not found: {arn}")
        if len(request.body) > MAX_PAYLOAD_BYTES:
            message = f"Request must be smaller than {MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation"
            return service_error(413, "RequestTooLargeException", message)
        try:
            event: Any = json.loads(request.body) if request.body.strip() else {}
        except ValueError:
            return service_error(400, "InvalidRequestContentException", "Could not parse request body into json")
        invocation_type = request.header("x-amz-invocation-type") or "RequestResponse"
        if invocation_type == "Event":
            self.functions.invoke_async(name, event)
            return HttpResponse(202, [], b"")
        if invocation_type != "RequestResponse":
            message = f"InvocationType {invocation_type} is not supported locally (RequestResponse and Event are)"
            return service_error(400, "InvalidParameterValueException", message)
        invocation = self.functions.invoke(name, event)
        headers = [
            ("content-type", "application/json"),
            ("x-amz-executed-version", "$LATEST"),
            ("x-amzn-requestid", invocation.request_id),
        ]
        if invocation.error is not None:
            headers.append(("x-amz-function-error", "Unhandled"))
        return HttpResponse(200, headers, invocation.payload)
