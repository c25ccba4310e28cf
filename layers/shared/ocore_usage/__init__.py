"""The oCore usage service core, in four layers; each imports only the layers below it.

- ``api``       HTTP: the resolver, the caller, query parameters, answers, page tokens, tokens.
- ``usecases``  what the functions do: ingest, rollup, reports, project events, dispatch.
- ``storage``   DynamoDB: key layout, table access, one repository per table.
- ``domain``    pure rules: time, zones, samples, attribution, aggregation, planning, versions.

``settings`` reads the environment, ``aws`` makes the AWS clients, and ``wiring`` builds the
services from them (the only place that does). README.md ("Where each rule lives") maps every
module to the rules it owns.
"""
