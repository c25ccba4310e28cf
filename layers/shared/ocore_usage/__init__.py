"""The oCore usage service core: pure usage arithmetic, the query planner, and DynamoDB storage.

Handlers in functions/ stay thin and call into the modules of this package:

- ``timeline``     instants, hours, days, months (UTC, microsecond integers); pure.
- ``attribution``  how one sample splits over the hours it overlaps; pure.
- ``aggregation``  exact usage sums, instance peaks and their rendering; pure.
- ``planner``      which stored rollup buckets answer a range at a period; pure.
- ``samples``      the ingest payload model and its validation rules.
- ``ingest``       storing a batch of samples and marking the work it creates.
- ``rollup``       turning pending work into hourly/daily/monthly rollups.
- ``projects``     applying project events to the project registry.
- ``reports``      the three read use cases.
- ``storage``      DynamoDB keys and repositories (boto3 client injected).
"""
