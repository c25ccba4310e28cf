"""DynamoDB storage: key layout (``keys``), low-level table access (``tables``) and one repository
per table (``samples``, ``work``, ``rollups``, ``projects``). The boto3 client is always injected."""
