"""The project registry as one project's reads see it: a project found is kept a few seconds.

Why that is safe (the org never changes) and what it saves are docs/read-api.md, "How fast". A project not found is
never kept: once registered, it is readable at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Final

from ocore_usage.usecases.freshness import MAX_AGE

if TYPE_CHECKING:
    from ocore_usage.storage.projects import Project
    from ocore_usage.usecases.reports.service import Clock, ProjectSource

MAX_ENTRIES: Final = 4096
"""Projects kept per process (the least recently used go first)."""


class ProjectCache:
    """A :class:`ProjectSource` that keeps each project ``get`` found for ``max_age`` microseconds."""

    def __init__(self, registry: ProjectSource, clock: Clock, max_age: int = MAX_AGE) -> None:
        self._registry = registry
        self._clock = clock
        self._max_age = max_age
        self._lock = threading.Lock()
        self._found: OrderedDict[str, tuple[int, Project]] = OrderedDict()

    def kept(self, project_id: str) -> Project | None:
        """The project, if it is kept and fresh: no request."""
        now = self._clock()
        with self._lock:
            kept = self._found.get(project_id)
            if kept is not None and 0 <= now - kept[0] < self._max_age:
                self._found.move_to_end(project_id)
                return kept[1]
        return None

    def get(self, project_id: str) -> Project | None:
        kept = self.kept(project_id)
        if kept is not None:
            return kept
        now = self._clock()
        project = self._registry.get(project_id)
        with self._lock:
            if project is None:
                self._found.pop(project_id, None)
            else:
                self._found[project_id] = (now, project)
                self._found.move_to_end(project_id)
                while len(self._found) > MAX_ENTRIES:
                    self._found.popitem(last=False)
        return project

    def get_many(self, project_ids: list[str]) -> dict[str, Project]:
        return self._registry.get_many(project_ids)

    def list_active(self, org_id: str) -> list[Project]:
        return self._registry.list_active(org_id)
