"""Build-time tools: they run on a developer machine or in CI, never in a function."""
