"""A module of the test layer: importable by every function, as /opt/python is on Lambda."""

VALUE = "from-the-layer"
