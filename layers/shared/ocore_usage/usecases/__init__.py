"""The service's operations: ingest, rollup, dispatch, reports and project events.

Their repositories are injected (``ocore_usage.wiring`` builds them); they work through ``storage`` and ``domain``.
"""
