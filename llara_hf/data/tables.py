"""Reading users' tables (CSV, Parquet, JSON Lines) and failing clearly on missing files or columns."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import pandas as pd

TABLE_SUFFIXES = (".csv", ".parquet", ".jsonl")


def require_files(folder: str, names: Sequence[str], layout: str) -> None:
    """Raise a `FileNotFoundError` naming the first missing file and the layout that needs it."""
    for name in names:
        if not os.path.isfile(os.path.join(folder, name)):
            raise FileNotFoundError(
                f"Missing {name} in {folder}: the {layout} layout needs {', '.join(names)} in one folder."
            )


def read_table(path: str) -> pd.DataFrame:
    """Read a CSV, Parquet or JSON Lines file, chosen by its suffix; never a pickle."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such table: {path}.")
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix == ".jsonl":
        return pd.read_json(path, lines=True)
    raise ValueError(f"Cannot read {path}: give a table as {', '.join(TABLE_SUFFIXES)}.")


def require_columns(table: pd.DataFrame, columns: Mapping[str, str], source: str) -> None:
    """Check that `table` has each column; `columns` maps the option naming it to the expected name."""
    missing = {option: column for option, column in columns.items() if column not in table.columns}
    if missing:
        wanted = ", ".join(f"{column!r} (option {option})" for option, column in missing.items())
        raise ValueError(
            f"{source} has no column {wanted}; its columns are {list(table.columns)}. "
            "Name your columns with those options."
        )
