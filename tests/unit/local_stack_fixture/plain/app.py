"""Test function: answers without statusCode (API Gateway infers 200 JSON), or misbehaves on demand."""

import time

import helper


def handler(event, context):
    mode = event.get("mode") or (event.get("queryStringParameters") or {}).get("mode")
    if mode == "sleep":
        time.sleep(1.05)  # the function's Timeout is 1 s
    if mode == "unserializable":
        return {"when": object()}
    if mode == "text":
        return "just text"
    return {"helper": helper.NAME, "mode": mode}
