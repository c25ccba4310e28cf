"""A sibling module of EchoFunction's handler (PlainFunction has its own helper.py)."""

NAME = "echo-helper"
