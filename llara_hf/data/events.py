"""`EventLog`: interactions as catalogue ids, sorted by user then time, built from two tables."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..item_catalogue import ItemCatalogue
from .tables import require_columns

logger = logging.getLogger(__name__)


@dataclass
class EventLog:
    """Events sorted by user, then timestamp, ties in file order.

    `user_codes[i]` indexes `user_keys` (the users' ids in the source, sorted) and `item_ids[i]` is a
    catalogue id.
    """

    user_keys: np.ndarray
    user_codes: np.ndarray
    item_ids: np.ndarray
    catalogue: ItemCatalogue

    @property
    def num_users(self) -> int:
        return len(self.user_keys)


def catalogue_from_items(
    items: pd.DataFrame, item_column: str, title_column: str, title_rule: Callable[[str], str], source: str
) -> tuple[ItemCatalogue, pd.Index]:
    """Map the items table's keys, sorted, to ids `0..N-1`; return the catalogue and the sorted keys."""
    require_columns(items, {"item_column": item_column, "title_column": title_column}, source)
    keys = items[item_column]
    if keys.isna().any():
        raise ValueError(f"{source} has {int(keys.isna().sum())} rows without an item id in {item_column!r}.")
    duplicated = keys[keys.duplicated()]
    if len(duplicated):
        raise ValueError(
            f"{source} lists items {duplicated.unique()[:5].tolist()} more than once: give each item one title."
        )
    items = items.sort_values(item_column, kind="stable")
    titles = [None if pd.isna(raw) else title_rule(str(raw)) for raw in items[title_column]]
    untitled = [key for key, title in zip(items[item_column], titles, strict=True) if not title]
    if untitled:
        raise ValueError(
            f"{source} has no title for items {untitled[:10]} ({len(untitled)} in all): every item needs one."
        )
    sorted_keys = pd.Index(items[item_column])
    catalogue = ItemCatalogue(titles=titles, source_ids=[str(key) for key in sorted_keys])
    return catalogue, sorted_keys


def _catalogue_ids(keys: pd.Series, sorted_keys: pd.Index) -> np.ndarray:
    """Catalogue ids of item keys, -1 where unknown; numbers match their spelling as text (7 and "7")."""
    if pd.api.types.is_numeric_dtype(keys) != pd.api.types.is_numeric_dtype(sorted_keys):
        return sorted_keys.astype(str).get_indexer(keys.astype(str))
    return sorted_keys.get_indexer(keys)


def _sortable_timestamps(timestamps: pd.Series, column: str, source: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(timestamps) or pd.api.types.is_datetime64_any_dtype(timestamps):
        return timestamps
    try:
        return pd.to_datetime(timestamps)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"{source} column {column!r} holds neither numbers nor dates ({error}); give sortable timestamps."
        ) from error


def event_log_from_tables(
    interactions: pd.DataFrame,
    items: pd.DataFrame,
    *,
    user_column: str = "user",
    item_column: str = "item",
    timestamp_column: str = "timestamp",
    title_column: str = "title",
    title_rule: Callable[[str], str],
    interactions_source: str = "The interactions table",
    items_source: str = "The items table",
) -> EventLog:
    """Check both tables, map items to catalogue ids, drop duplicate events (logged) and sort by user and time."""
    catalogue, sorted_keys = catalogue_from_items(items, item_column, title_column, title_rule, items_source)
    columns = {"user_column": user_column, "item_column": item_column, "timestamp_column": timestamp_column}
    require_columns(interactions, columns, interactions_source)
    events = interactions[[user_column, item_column, timestamp_column]]
    for option, column in columns.items():
        empty = events[column].isna()
        if empty.any():
            raise ValueError(
                f"{interactions_source} has {int(empty.sum())} rows without a value in {column!r} ({option}), "
                f"the first at row {int(np.flatnonzero(empty.to_numpy())[0])}: fill or drop them."
            )
    duplicated = events.duplicated()
    if duplicated.any():
        logger.warning(
            "%s has %d duplicate (user, timestamp, item) rows; each is kept once.",
            interactions_source,
            int(duplicated.sum()),
        )
        events = events[~duplicated]
    item_ids = _catalogue_ids(events[item_column], sorted_keys)
    unknown = item_ids < 0
    if unknown.any():
        missing = pd.unique(events[item_column].to_numpy()[unknown])
        raise ValueError(
            f"{interactions_source} has {int(unknown.sum())} interactions with items that have no title in "
            f"{items_source}, e.g. {missing[:10].tolist()}: add them to the items table or drop those rows."
        )
    user_codes, user_keys = pd.factorize(events[user_column], sort=True)
    timestamps = _sortable_timestamps(events[timestamp_column], timestamp_column, interactions_source)
    order = np.lexsort((timestamps.rank(method="dense").to_numpy(), user_codes))
    return EventLog(
        user_keys=np.asarray(user_keys),
        user_codes=user_codes[order].astype(np.int64),
        item_ids=item_ids[order].astype(np.int64),
        catalogue=catalogue,
    )
