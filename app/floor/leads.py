"""A distinct lead's first hours: the earliest dial and connect of a rep's calls to one customer
on one local day. ``None`` for a connect hour: no call of theirs connected yet."""

from __future__ import annotations

#: (first-dial hour, first-connect hour) of a lead.
FirstHours = tuple[int, int | None]


def earlier_hour(a: int | None, b: int | None) -> int | None:
    """The earlier of two first hours, where None is "not yet"."""
    return b if a is None else a if b is None else min(a, b)


def merge_first_hours(a: FirstHours, b: FirstHours) -> FirstHours:
    """One lead's first hours from two sets of its calls: the earlier of each."""
    return min(a[0], b[0]), earlier_hour(a[1], b[1])
