"""Raw MovieLens files as GroupLens ships them: ML-100K, MovieLens latest (CSV) and ML-1M (`::` files)."""

from __future__ import annotations

import os
from csv import QUOTE_NONE

import numpy as np
import pandas as pd

from .events import EventLog, event_log_from_tables
from .tables import require_files
from .titles import movielens_title

ML_100K_FILES = ("u.data", "u.item")
MOVIELENS_CSV_FILES = ("ratings.csv", "movies.csv")
ML_1M_FILES = ("ratings.dat", "movies.dat")


def read_ml_100k_items(folder: str) -> pd.DataFrame:
    """`u.item`'s ids and raw titles, checked to number the movies 1..N as GroupLens ships them."""
    path = os.path.join(folder, "u.item")
    items = pd.read_csv(
        path,
        sep="|",
        header=None,
        usecols=[0, 1],
        names=["item", "title"],
        encoding="ISO-8859-1",
        quoting=QUOTE_NONE,
    )
    if not np.array_equal(np.sort(items["item"].to_numpy()), np.arange(1, len(items) + 1)):
        raise ValueError(
            f"{path} must number its movies 1..{len(items)} without gaps, as GroupLens ships it, "
            "so that item ids match the LLaRA release (ML-100K id - 1)."
        )
    return items


def read_ml_100k(folder: str) -> EventLog:
    """Read `u.data` and `u.item`; item ids are the ML-100K ids minus one, as in the LLaRA release."""
    require_files(folder, ML_100K_FILES, "MovieLens-100K")
    ratings = pd.read_csv(
        os.path.join(folder, "u.data"), sep="\t", header=None, names=["user", "item", "rating", "timestamp"]
    )
    return event_log_from_tables(
        ratings,
        read_ml_100k_items(folder),
        title_rule=movielens_title,
        interactions_source=os.path.join(folder, "u.data"),
        items_source=os.path.join(folder, "u.item"),
    )


def read_movielens_csv(folder: str) -> EventLog:
    """Read MovieLens latest / 25M-style `ratings.csv` and `movies.csv`."""
    require_files(folder, MOVIELENS_CSV_FILES, "MovieLens latest (CSV)")
    return event_log_from_tables(
        pd.read_csv(os.path.join(folder, "ratings.csv")),
        pd.read_csv(os.path.join(folder, "movies.csv")),
        user_column="userId",
        item_column="movieId",
        title_rule=movielens_title,
        interactions_source=os.path.join(folder, "ratings.csv"),
        items_source=os.path.join(folder, "movies.csv"),
    )


def read_ml_1m(folder: str) -> EventLog:
    """Read ML-1M's `ratings.dat` and `movies.dat` (`::`-separated, ISO-8859-1)."""
    require_files(folder, ML_1M_FILES, "MovieLens-1M")

    def read(name: str, columns: list[str]) -> pd.DataFrame:
        with open(os.path.join(folder, name), encoding="ISO-8859-1") as handle:
            return pd.DataFrame(
                [line.rstrip("\n").split("::") for line in handle if line.strip()], columns=columns
            )

    ratings = read("ratings.dat", ["user", "item", "rating", "timestamp"]).astype(
        {"user": np.int64, "item": np.int64, "timestamp": np.int64}
    )
    items = read("movies.dat", ["item", "title", "genres"]).astype({"item": np.int64})
    return event_log_from_tables(
        ratings,
        items,
        title_rule=movielens_title,
        interactions_source=os.path.join(folder, "ratings.dat"),
        items_source=os.path.join(folder, "movies.dat"),
    )


# The first file of each layout identifies it; its reader checks the rest.
MOVIELENS_LAYOUTS = {
    "ml-100k": (ML_100K_FILES, read_ml_100k),
    "movielens-csv": (MOVIELENS_CSV_FILES, read_movielens_csv),
    "ml-1m": (ML_1M_FILES, read_ml_1m),
}
