"""Seeded candidate lists: the target plus negatives the row may not contain, shuffled."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Below this share of allowed items, draw from the explicit complement instead of rejecting draws.
_REJECTION_MIN_ALLOWED_SHARE = 0.25


def _negatives(
    excluded: np.ndarray, num_items: int, num_negatives: int, draws: list[int], rng: np.random.Generator
) -> list[int]:
    if num_items - len(excluded) < _REJECTION_MIN_ALLOWED_SHARE * num_items:
        return rng.choice(np.setdiff1d(np.arange(num_items), excluded), num_negatives, replace=False).tolist()
    banned = set(excluded.tolist())
    chosen: list[int] = []
    while True:
        for item in draws:
            if item not in banned:
                banned.add(item)
                chosen.append(item)
                if len(chosen) == num_negatives:
                    return chosen
        draws = rng.integers(0, num_items, size=2 * num_negatives).tolist()


def sample_candidates(
    targets: np.ndarray,
    excluded: Sequence[np.ndarray],
    num_items: int,
    num_candidates: int,
    rng: np.random.Generator,
    user_ids: Sequence[str] | None = None,
) -> np.ndarray:
    """Return an `(rows, num_candidates)` array: each row's target and distinct negatives, shuffled.

    Negatives are drawn uniformly from the items `0..num_items-1` outside `excluded[row]` (a sorted array that
    holds at least the row's target).
    """
    if isinstance(num_candidates, bool) or not isinstance(num_candidates, int) or num_candidates < 1:
        raise ValueError(f"num_candidates must be a positive integer, got {num_candidates!r}.")
    if num_candidates > num_items:
        raise ValueError(
            f"num_candidates={num_candidates} but the catalogue has only {num_items} items: ask for at most "
            f"{num_items} candidates."
        )
    num_rows, num_negatives = len(targets), num_candidates - 1
    candidates = np.empty((num_rows, num_candidates), dtype=np.int64)
    candidates[:, 0] = targets
    if num_negatives:
        pool = rng.integers(0, num_items, size=(num_rows, 2 * num_negatives))
        for row in range(num_rows):
            allowed = num_items - len(excluded[row])
            if allowed < num_negatives:
                who = f"row {row}" if user_ids is None else f"row {row} (user {user_ids[row]})"
                raise ValueError(
                    f"Only {allowed} items are left to sample negatives from for {who}, which has interacted "
                    f"with {len(excluded[row])} of the {num_items} items; num_candidates={num_candidates} "
                    f"needs {num_negatives}. Lower num_candidates."
                )
            candidates[row, 1:] = _negatives(excluded[row], num_items, num_negatives, pool[row].tolist(), rng)
    order = np.argsort(rng.random((num_rows, num_candidates)), axis=1)
    return np.take_along_axis(candidates, order, axis=1)
