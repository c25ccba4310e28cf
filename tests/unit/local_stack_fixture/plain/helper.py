"""PlainFunction's own helper (EchoFunction has another module of the same name)."""

NAME = "plain-helper"
