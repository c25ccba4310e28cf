"""Merging many usages at once is merging them one by one: sums add, the peak is the largest."""

from __future__ import annotations

from functools import reduce

from hypothesis import given
from hypothesis import strategies as st

from ocore_usage.domain.aggregation import ZERO, Usage, merge_all
from ocore_usage.domain.metrics import METRICS

usages = st.builds(
    Usage,
    st.tuples(*(st.integers(0, 10**30) for _ in METRICS)),
    st.integers(0, 10**6),
)


@given(st.lists(usages, max_size=40))
def test_merge_all_is_pairwise_merge(found: list[Usage]) -> None:
    assert merge_all(iter(found)) == reduce(Usage.merge, found, ZERO)
