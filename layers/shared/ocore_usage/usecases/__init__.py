"""The service's operations: ingest, rollup, dispatch, reports and project events.

Their repositories are injected (``ocore_usage.wiring`` builds them) as the small Protocols of ``ports``;
they work through ``storage`` and ``domain``.
"""
