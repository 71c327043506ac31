"""A user's own data: an interactions table (user, item, timestamp) and an items table (item, title)."""

from __future__ import annotations

import os

from .events import EventLog, event_log_from_tables
from .tables import TABLE_SUFFIXES, read_table
from .titles import clean_title

LAYOUT = (
    "interactions table (columns user, item, timestamp) and items table (columns item, title), as "
    f"{'/'.join(TABLE_SUFFIXES)}: pass interactions_file= and items_file=, or name them interactions.* and items.*"
)


def find_table(folder: str | None, given: str | None, stem: str) -> str:
    """The path of `given` (relative to `folder`), or of `<stem>.csv|.parquet|.jsonl` in `folder`."""
    if given is not None:
        path = given if folder is None else os.path.join(folder, given)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Missing {path}: the interactions config reads an {LAYOUT}.")
        return path
    found = [] if folder is None else [os.path.join(folder, stem + suffix) for suffix in TABLE_SUFFIXES]
    found = [path for path in found if os.path.isfile(path)]
    if len(found) != 1:
        problem = "Several" if found else "No"
        raise FileNotFoundError(
            f"{problem} {stem} tables in {folder}: the interactions config reads an {LAYOUT}."
        )
    return found[0]


def read_user_tables(
    folder: str | None,
    interactions_file: str | None = None,
    items_file: str | None = None,
    *,
    user_column: str = "user",
    item_column: str = "item",
    timestamp_column: str = "timestamp",
    title_column: str = "title",
) -> EventLog:
    """Read both tables and return their events; item ids are the items table's keys, sorted."""
    interactions_path = find_table(folder, interactions_file, "interactions")
    items_path = find_table(folder, items_file, "items")
    return event_log_from_tables(
        read_table(interactions_path),
        read_table(items_path),
        user_column=user_column,
        item_column=item_column,
        timestamp_column=timestamp_column,
        title_column=title_column,
        title_rule=clean_title,
        interactions_source=interactions_path,
        items_source=items_path,
    )
