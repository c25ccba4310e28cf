"""Test function: answers with what it received and what its environment gives it."""

import json
import os

import helper
import local_test_layer


def handler(event, context):
    seen = {
        "event": event,
        "helper": helper.NAME,
        "layer": local_test_layer.VALUE,
        "greeting": os.environ.get("GREETING"),
        "function": context.function_name,
        "memory": context.memory_limit_in_mb,
        "remaining": context.get_remaining_time_in_millis(),
        "arn": context.invoked_function_arn,
    }
    return {
        "statusCode": 201 if event.get("requestContext", {}).get("http", {}).get("method") == "POST" else 200,
        "headers": {"content-type": "application/json", "x-echo": "yes"},
        "cookies": ["a=1", "b=2"],
        "body": json.dumps(seen),
    }
