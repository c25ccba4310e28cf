"""The oCore usage service core: pure usage arithmetic, the query planner, and DynamoDB storage.

Handlers in functions/ stay thin and call into the modules of this package:

- ``timeline``     instants, hours, days, months (UTC, microsecond integers); pure.
- ``attribution``  how one sample splits over the hours it overlaps; pure.
- ``aggregation``  exact usage sums, instance occupancy and peaks, and their rendering; pure.
- ``planner``      which stored rollup buckets answer a range at a period; pure.
- ``samples``      the ingest payload model and its validation rules.
- ``ingest``       storing a batch of samples and marking the work it creates.
- ``rollup``       turning pending work into hourly/daily/monthly rollups.
- ``projects``     applying project events to the project registry.
- ``queries``      parsing the read endpoints' query parameters.
- ``pagination``   signed, opaque page tokens.
- ``responses``    the API's response and problem models; ``openapi`` renders docs/openapi.json from them.
- ``reports``      the three read use cases.
- ``auth``         verifying bearer tokens for the API's Lambda authorizer.
- ``http_api``     the HTTP resolver, the caller's identity, problem+json answers.
- ``problems``     the error type and its codes; ``jsonnum`` exact JSON numbers.
- ``settings``     environment settings; ``wiring`` builds services from them on first use.
- ``storage``      DynamoDB keys and repositories (boto3 client injected).
"""
