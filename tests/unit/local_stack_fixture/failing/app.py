"""Test function: always raises."""


def handler(event, context):
    raise ValueError("this function always fails")
