"""The paper's protocol, made reproducible: seeded user split, history windows, short rows dropped.

Every random draw comes from its own stream, `split_rng(seed, purpose, split)`, so that one split's
candidates and templates never depend on another split's rows (e.g. on whether a test file is present).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .events import EventLog

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
_PURPOSES = ("users", "candidates", "templates")


def split_rng(seed: int, purpose: str, split: str | None = None) -> np.random.Generator:
    """An independent generator for one purpose (`users`, `candidates`, `templates`) and split."""
    split_index = len(SPLITS) if split is None else SPLITS.index(split)
    return np.random.default_rng([seed, _PURPOSES.index(purpose), split_index])


@dataclass
class SplitWindows:
    """The rows of one split before candidates and prompts.

    Row `i` predicts `targets[i]` from `histories[i]` (oldest first); `excluded[i]` holds the items never
    sampled as its negatives (always its history and target); `user_ids` is None when the source has none.
    """

    histories: list[np.ndarray]
    targets: np.ndarray
    excluded: list[np.ndarray]
    user_ids: list[str] | None = None

    def __len__(self) -> int:
        return len(self.targets)

    def select(self, rows: np.ndarray) -> SplitWindows:
        return SplitWindows(
            histories=[self.histories[row] for row in rows],
            targets=self.targets[rows],
            excluded=[self.excluded[row] for row in rows],
            user_ids=None if self.user_ids is None else [self.user_ids[row] for row in rows],
        )


def apply_history_limits(windows: SplitWindows, min_history: int, max_history: int) -> SplitWindows:
    """Keep each history's last `max_history` items and drop rows with fewer than `min_history` (the paper: 3)."""
    histories = [history[-max_history:] for history in windows.histories]
    lengths = np.fromiter((len(history) for history in histories), dtype=np.int64, count=len(histories))
    limited = SplitWindows(histories, windows.targets, windows.excluded, windows.user_ids)
    return limited.select(np.flatnonzero(lengths >= min_history))


def split_users(num_users: int, ratios: Sequence[float], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Shuffle users `0..num_users-1` and cut them by `ratios` (train and validation rounded down)."""
    total = float(sum(ratios))
    num_train = int(num_users * ratios[0] / total)
    num_validation = int(num_users * ratios[1] / total)
    order = rng.permutation(num_users)
    cuts = np.split(order, [num_train, num_train + num_validation])
    return {split: np.sort(users) for split, users in zip(SPLITS, cuts, strict=True)}


def windows_from_event_log(
    log: EventLog, *, max_history: int, split_ratios: Sequence[float], seed: int
) -> dict[str, SplitWindows]:
    """Split users with the seed; every window of a training user is a row, other users give their last.

    A window's history holds at most `max_history` items before its target. Rows are ordered by user, then
    time; short histories are left for `apply_history_limits`.
    """
    num_events = len(log.item_ids)
    starts = np.searchsorted(log.user_codes, np.arange(log.num_users))
    ends = np.append(starts[1:], num_events)
    # The items each user ever interacted with: never that user's negatives.
    interacted = [np.unique(log.item_ids[start:end]) for start, end in zip(starts, ends, strict=True)]
    user_ids = [str(key) for key in log.user_keys]
    windows = {}
    for split, users in split_users(log.num_users, split_ratios, split_rng(seed, "users")).items():
        if split == "train":
            in_split = np.zeros(log.num_users, dtype=bool)
            in_split[users] = True
            targets = np.flatnonzero(in_split[log.user_codes])
        else:
            targets = ends[users] - 1
        targets = targets[targets > starts[log.user_codes[targets]]]
        owners = log.user_codes[targets]
        windows[split] = SplitWindows(
            histories=[
                log.item_ids[max(start, target - max_history) : target]
                for start, target in zip(starts[owners].tolist(), targets.tolist(), strict=True)
            ],
            targets=log.item_ids[targets],
            excluded=[interacted[owner] for owner in owners.tolist()],
            user_ids=[user_ids[owner] for owner in owners.tolist()],
        )
        logger.info("%s: %d users, %d windows", split, len(users), len(targets))
    return windows
