"""The protocol: seeded user split, windows, history limits and candidate sampling."""

import numpy as np
import pandas as pd
import pytest

from llara_hf.data.candidates import sample_candidates
from llara_hf.data.events import event_log_from_tables
from llara_hf.data.protocol import (
    SplitWindows,
    apply_history_limits,
    split_rng,
    split_users,
    windows_from_event_log,
)
from llara_hf.data.titles import clean_title


def tiny_log(num_users: int = 20, events_per_user: int = 14, num_items: int = 50):
    rng = np.random.default_rng(0)
    rows = [
        (f"u{user:02d}", int(item), int(time))
        for user in range(num_users)
        for time, item in enumerate(rng.choice(num_items, events_per_user, replace=False))
    ]
    interactions = pd.DataFrame(rows, columns=["user", "item", "timestamp"]).sample(frac=1, random_state=0)
    items = pd.DataFrame({"item": range(num_items), "title": [f"Item {i}" for i in range(num_items)]})
    return event_log_from_tables(interactions, items, title_rule=clean_title), rows


def test_split_users_cuts_8_1_1_rounding_train_and_validation_down():
    splits = split_users(943, (0.8, 0.1, 0.1), np.random.default_rng(0))
    assert [len(splits[split]) for split in ("train", "validation", "test")] == [754, 94, 95]
    assert sorted(np.concatenate(list(splits.values())).tolist()) == list(range(943))


def test_split_users_depends_on_the_seed_only():
    first = split_users(100, (0.8, 0.1, 0.1), split_rng(3, "users"))
    again = split_users(100, (0.8, 0.1, 0.1), split_rng(3, "users"))
    other = split_users(100, (0.8, 0.1, 0.1), split_rng(4, "users"))
    assert all(np.array_equal(first[split], again[split]) for split in first)
    assert not np.array_equal(first["test"], other["test"])


def test_training_users_give_every_window_and_the_others_their_last():
    log, rows = tiny_log()
    windows = windows_from_event_log(log, max_history=10, split_ratios=(0.8, 0.1, 0.1), seed=0)
    assert len(windows["train"]) == 16 * 13  # every event but each user's first is a target
    assert len(windows["validation"]) == len(windows["test"]) == 2
    by_user = {}
    for user, item, _ in rows:  # rows are in time order per user
        by_user.setdefault(user, []).append(item)
    for split in ("train", "validation", "test"):
        for history, target, user, excluded in zip(
            windows[split].histories,
            windows[split].targets,
            windows[split].user_ids,
            windows[split].excluded,
            strict=True,
        ):
            sequence = by_user[user]
            position = sequence.index(int(target))
            assert history.tolist() == sequence[max(0, position - 10) : position]
            assert excluded.tolist() == sorted(sequence)
            if split != "train":
                assert position == len(sequence) - 1


def test_ties_in_time_keep_file_order_and_duplicates_are_logged_once(caplog):
    interactions = pd.DataFrame(
        {"user": [1, 1, 1, 1, 1], "item": [3, 1, 2, 2, 0], "timestamp": [5, 5, 5, 5, 1]},
    )
    items = pd.DataFrame({"item": [0, 1, 2, 3], "title": ["A", "B", "C", "D"]})
    with caplog.at_level("WARNING"):
        log = event_log_from_tables(interactions, items, title_rule=clean_title)
    assert log.item_ids.tolist() == [0, 3, 1, 2]
    assert "1 duplicate (user, timestamp, item) rows" in caplog.text


def test_history_limits_keep_recent_items_and_drop_short_rows():
    windows = SplitWindows(
        histories=[np.arange(2), np.arange(3), np.arange(12)],
        targets=np.array([20, 21, 22]),
        excluded=[np.array([20]), np.array([21]), np.array([22])],
        user_ids=["a", "b", "c"],
    )
    limited = apply_history_limits(windows, min_history=3, max_history=10)
    assert limited.user_ids == ["b", "c"]
    assert limited.histories[1].tolist() == list(range(2, 12))
    assert limited.targets.tolist() == [21, 22]


def test_candidates_hold_the_target_and_distinct_allowed_items():
    rng = np.random.default_rng(0)
    targets = np.array([5, 7, 9])
    excluded = [np.array([1, 2, 5]), np.arange(0, 30, 2).tolist() + [7], np.arange(9, 40)]
    excluded = [np.unique(row) for row in excluded]
    candidates = sample_candidates(targets, excluded, 40, 8, rng)
    assert candidates.shape == (3, 8)
    for row, target, banned in zip(candidates, targets, excluded, strict=True):
        assert len(set(row.tolist())) == 8
        assert target in row
        assert not (set(row.tolist()) - {int(target)}) & set(banned.tolist())
    assert [row.tolist().index(int(target)) for row, target in zip(candidates, targets, strict=True)] != [
        0,
        0,
        0,
    ]


def test_candidates_are_fixed_by_the_generator_seed():
    targets, excluded = np.arange(50), [np.array([item]) for item in range(50)]
    first = sample_candidates(targets, excluded, 100, 20, np.random.default_rng(1))
    again = sample_candidates(targets, excluded, 100, 20, np.random.default_rng(1))
    other = sample_candidates(targets, excluded, 100, 20, np.random.default_rng(2))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("count", [0, -3])
def test_non_positive_candidate_count_is_refused(count):
    with pytest.raises(ValueError, match="num_candidates must be a positive integer"):
        sample_candidates(np.array([0]), [np.array([0])], 10, count, np.random.default_rng(0))


def test_more_candidates_than_items_is_refused():
    with pytest.raises(ValueError, match="num_candidates=20 but the catalogue has only 15 items"):
        sample_candidates(np.array([0]), [np.array([0])], 15, 20, np.random.default_rng(0))


def test_a_user_who_saw_almost_everything_names_the_user():
    with pytest.raises(ValueError, match=r"row 0 \(user u7\).*Lower num_candidates"):
        sample_candidates(np.array([0]), [np.arange(8)], 10, 5, np.random.default_rng(0), ["u7"])


def test_item_keys_match_across_number_and_text_spellings():
    interactions = pd.DataFrame({"user": [1, 1], "item": ["10", "7"], "timestamp": [1, 2]})
    items = pd.DataFrame({"item": [10, 7], "title": ["Ten", "Seven"]})
    log = event_log_from_tables(interactions, items, title_rule=clean_title)
    assert log.catalogue.titles == ["Seven", "Ten"] and log.item_ids.tolist() == [1, 0]
