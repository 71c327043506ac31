"""Finding a local copy of a known dataset (e.g. a checkout's `../shared/data`) when no folder is given."""

from __future__ import annotations

import os
from pathlib import Path

# Folders under a `shared/data` root, in order of preference, for each dataset name.
KNOWN_LAYOUTS: dict[str, tuple[str, ...]] = {
    "movielens": ("llara/movielens", "ml-100k"),
    "lastfm": ("llara/lastfm",),
    "steam": ("llara/steam",),
}


def shared_data_roots() -> list[Path]:
    """`$LLARA_DATA_ROOT`, then `../shared/data` beside the working directory and beside this checkout."""
    roots = [Path(os.environ["LLARA_DATA_ROOT"])] if os.environ.get("LLARA_DATA_ROOT") else []
    checkout = Path(__file__).resolve().parents[2]
    roots += [Path.cwd().parent / "shared" / "data", checkout.parent / "shared" / "data"]
    return roots


def locate_data_dir(name: str) -> str | None:
    """The first local folder holding dataset `name`, or None (then MovieLens is downloaded)."""
    for root in shared_data_roots():
        for layout in KNOWN_LAYOUTS.get(name, ()):
            folder = root / layout
            if folder.is_dir():
                return str(folder)
    return None
