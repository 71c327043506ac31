"""A tiny synthetic catalogue and interaction log with a learnable rule, for smoke runs and examples.

Each user starts at a random item and then mostly watches the next item id (wrapping around), so a
sequential recommender, and LLaRA, can learn "after item i comes item i + 1".
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

GENRES = ("Space", "River", "Night", "Desert", "Winter", "Harbour", "Forest", "City")


def synthetic_title(item: int) -> str:
    return f"The {GENRES[item % len(GENRES)]} Story {item}"


def write_synthetic_interactions(
    folder: str | os.PathLike,
    num_users: int = 60,
    num_items: int = 40,
    events_per_user: int = 12,
    follow_probability: float = 0.9,
    seed: int = 0,
) -> str:
    """Write `interactions.csv` and `items.csv` (the `interactions` layout) into `folder` and return it."""
    if num_items < 2 or num_users < 10 or events_per_user < 4:
        raise ValueError("A synthetic log needs at least 2 items, 10 users and 4 events per user.")
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(num_users):
        item = int(rng.integers(num_items))
        seen = set()
        for timestamp in range(events_per_user):
            while item in seen:
                item = (item + 1) % num_items
            seen.add(item)
            rows.append((f"u{user}", item, timestamp))
            jump = rng.random() >= follow_probability
            item = int(rng.integers(num_items)) if jump else (item + 1) % num_items
    os.makedirs(folder, exist_ok=True)
    pd.DataFrame(rows, columns=["user", "item", "timestamp"]).to_csv(
        os.path.join(folder, "interactions.csv"), index=False
    )
    items = pd.DataFrame(
        {"item": range(num_items), "title": [synthetic_title(item) for item in range(num_items)]}
    )
    items.to_csv(os.path.join(folder, "items.csv"), index=False)
    return str(folder)
