"""Pure rules: time, zones, samples and their validation, attribution, aggregation, the query planner, versions.

Nothing here performs I/O or imports another layer of the package.
"""
