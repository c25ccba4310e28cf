"""DynamoDB storage: key layout (``keys``), table access (``tables``, the only caller of the client) and
one repository per table (``samples``, ``work``, ``rollups``, ``projects``); the work table's parts
are ``marks``, ``heads``, ``leases`` and ``parked``. The boto3 client is always injected."""
