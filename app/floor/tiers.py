"""The seed's team make-up (10 % top, 70 % core, 15–20 % laggards) and its mentoring pairs. Pure.

Rules, for a team of any size:

- New hires are always "new" and are not ranked; everyone else is ranked, best first, on
  (revenue, orders, dials): the basis leads and the figures below it break its ties, so on a
  morning without sales the rep with 250 dials is ahead of the one with 20.
- Target sizes round half up: top = 10 % of the ranked reps, laggards = 17.5 % (24 → 2 and 4).
- Reps equal on all three figures always share a tier: a boundary only falls between different
  figures, at the tie-group edge nearest its target; on equal distance the tier stays smaller.
- At least one top performer when ≥ 3 reps are ranked (the mentors the pairs need), even if
  that takes a whole tie group, unless top_share is 0; no laggards when fewer than 5 are ranked.
- Neither tier takes everyone: top must be ahead of someone and laggards behind someone in
  core, so a day where the ranked reps are all equal (an all-zero morning) is all core.
- Order is deterministic: equal reps are listed by code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate, groupby
from typing import Any

TIERS = ("top", "core", "laggard", "new")
TIER_NAMES = {
    "top": {"zh": "绩优", "en": "top"},
    "core": {"zh": "中坚", "en": "core"},
    "laggard": {"zh": "落后", "en": "laggard"},
    "new": {"zh": "新人", "en": "new"},
}
#: Below these many ranked reps a tier is not assigned (a 2-rep "top 10 %" means nothing).
MIN_RANKED_FOR_TOP = 3
MIN_RANKED_FOR_LAGGARDS = 5


@dataclass(frozen=True)
class TierInput:
    code: str
    revenue: int
    orders: int
    dials: int
    new_hire: bool


def _strongest_first(rep: TierInput) -> tuple[int, int, int, str]:
    return (-rep.revenue, -rep.orders, -rep.dials, rep.code)


def _figures(rep: TierInput) -> tuple[int, int, int]:
    return (rep.revenue, rep.orders, rep.dials)


def basis(reps: Sequence[TierInput]) -> str:
    """What leads the ranking: "revenue" if a ranked rep sold, else "orders", else "dials"."""
    # New hires are not ranked, so a new hire's first sale does not switch the veterans' basis.
    ranked = [r for r in reps if not r.new_hire]
    if any(r.revenue > 0 for r in ranked):
        return "revenue"
    if any(r.orders > 0 for r in ranked):
        return "orders"
    return "dials"


def _target(share: float, n: int) -> int:
    # Half up, not Python's half-to-even, and immune to a float product landing on x.4999…
    return math.floor(share * n + 0.5 + 1e-9)


def _nearest(edges: Sequence[int], target: int) -> int:
    """The tie-group edge nearest `target`, the smaller on equal distance; 0 if there is none."""
    return min(edges, key=lambda e: (abs(e - target), e), default=0)


def assign_tiers(
    reps: Sequence[TierInput], *, top_share: float = 0.10, bottom_share: float = 0.175
) -> dict[str, str]:
    """code -> tier: new hires "new"; the rest top ~10 %, bottom 15–20 % laggards, others core.

    Tie and small-team rules are in the module docstring. Codes come out sorted.
    """
    if not (top_share >= 0 and bottom_share >= 0 and top_share + bottom_share <= 1):
        raise ValueError("shares must be >= 0 and add up to at most 1")
    codes = [r.code for r in reps]
    if len(set(codes)) != len(codes):
        raise ValueError("rep codes must be unique")

    ranked = sorted((r for r in reps if not r.new_hire), key=_strongest_first)
    n = len(ranked)
    sizes = [len(list(group)) for _, group in groupby(ranked, key=_figures)]
    # How many reps lie above each tie-group edge (from the top) or below it (from the bottom).
    from_top, from_bottom = list(accumulate(sizes)), list(accumulate(reversed(sizes)))

    top = 0
    if n >= MIN_RANKED_FOR_TOP and top_share > 0:
        # Edges are ≥ 1 here, so a due top always gets its first tie group; < n leaves a core.
        top = _nearest([e for e in from_top if e < n], max(_target(top_share, n), 1))
    lag = 0
    if n >= MIN_RANKED_FOR_LAGGARDS:
        # 0 is an edge here: a big tie group at the bottom is left in core rather than shamed.
        lag = _nearest([0, *(e for e in from_bottom if e < n - top)], _target(bottom_share, n))

    tiers = {r.code: "new" for r in reps if r.new_hire}
    for i, rep in enumerate(ranked):
        tiers[rep.code] = "top" if i < top else "laggard" if i >= n - lag else "core"
    return dict(sorted(tiers.items()))


def mentoring_pairs(
    reps: Sequence[TierInput],
    tiers: Mapping[str, str],
    pinned: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The pairs a lead pinned (``pinned``: mentee code -> mentor code, both among ``reps``),
    then laggards and new hires nobody pinned, weakest first, dealt round-robin to top
    performers, strongest first.

    Each pair is {"mentor": code, "mentee": code, "pinned": bool}; automatic mentor loads differ
    by at most one. No top performer → only the pinned pairs.
    """
    codes = {r.code for r in reps}
    pinned = {m: t for m, t in (pinned or {}).items() if m in codes and t in codes and m != t}
    out: list[dict[str, Any]] = [
        {"mentor": mentor, "mentee": mentee, "pinned": True}
        for mentee, mentor in sorted(pinned.items())
    ]
    mentors = [r.code for r in sorted(reps, key=_strongest_first) if tiers.get(r.code) == "top"]
    if not mentors:
        return out
    weakest_first = sorted(reps, key=lambda r: (*_figures(r), r.code))
    mentees = [
        r.code
        for r in weakest_first
        if tiers.get(r.code) in ("laggard", "new") and r.code not in pinned
    ]
    out += [
        {"mentor": mentors[i % len(mentors)], "mentee": m, "pinned": False}
        for i, m in enumerate(mentees)
    ]
    return out
