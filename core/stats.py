"""Summary statistics shared by the search evaluation, the handoff metrics and the benchmarks."""

from collections.abc import Sequence


def percentile(values: Sequence[float], share: float) -> float:
    """The value at `share` (0..1) of the sorted values, by nearest rank; 0.0 for no values."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]
