"""README's "Where each rule lives" is the one map of the core package and the local runner: every module is on it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"core": ROOT / "layers" / "shared" / "ocore_usage", "local": ROOT / "local"}


def mapped_names() -> set[str]:
    """The backticked names in the first column of the map's tables."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Where each rule lives", 1)[1].split("\n## ", 1)[0]
    first_columns = (line.split("|")[1] for line in section.splitlines() if line.startswith("| "))
    return {name.rstrip("/") for column in first_columns for name in re.findall(r"`([^`]+)`", column)}


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_every_module_is_on_the_readmes_map(package):
    # GIVEN the modules of the package, each as the map names it: its name, or reports/<name> in the reports package
    root = PACKAGES[package]
    modules = {
        (f"{path.parent.name}/{path.stem}" if path.parent.name == "reports" else path.stem)
        for path in root.rglob("*.py")
        if path.stem != "__init__"
    }
    # WHEN / THEN each is on the map
    assert modules - mapped_names() == set()
