"""The LLaRA release layout: `train_data.df`, `Val_data.df`, `Test_data.df` plus the item names.

The split files are pandas pickles, and a pickle runs code when loaded: they are read only with
`trust_pickles=True`. Each row holds a history `seq` padded at the end with the dataset's padding id
(MovieLens stores `(item, rating)` pairs) and its target `next`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..item_catalogue import ItemCatalogue
from .events import catalogue_from_items
from .movielens import read_ml_100k_items
from .protocol import SplitWindows
from .tables import require_files
from .titles import clean_title, movielens_title

logger = logging.getLogger(__name__)

RELEASE_URL = "https://huggingface.co/datasets/joyliao7777/LLaRA"
RELEASE_SPLIT_FILES = {"train": "train_data.df", "validation": "Val_data.df", "test": "Test_data.df"}


@dataclass(frozen=True)
class ReleaseSpec:
    """One dataset of the release: its padding id (= its number of items) and its item-name file."""

    padding_id: int
    titles_file: str


RELEASES = {
    "movielens": ReleaseSpec(padding_id=1682, titles_file="u.item"),
    "steam": ReleaseSpec(padding_id=3581, titles_file="id2name.txt"),
    "lastfm": ReleaseSpec(padding_id=4606, titles_file="id2name.txt"),
}


def is_release_folder(folder: str) -> bool:
    return any(os.path.isfile(os.path.join(folder, name)) for name in RELEASE_SPLIT_FILES.values())


def _layout(name: str) -> str:
    files = [*RELEASE_SPLIT_FILES.values(), RELEASES[name].titles_file]
    return f"LLaRA release ({name}: {', '.join(files)})"


def read_release_catalogue(name: str, folder: str) -> ItemCatalogue:
    """The items `0..padding_id-1` with their titles (MovieLens: ML-100K id - 1, years stripped)."""
    spec = RELEASES[name]
    require_files(folder, [spec.titles_file], _layout(name))
    path = os.path.join(folder, spec.titles_file)
    if spec.titles_file == "u.item":
        items, title_rule = read_ml_100k_items(folder), movielens_title
    else:
        with open(path, encoding="utf-8") as handle:
            pairs = [line.rstrip("\n").split("::", 1) for line in handle if line.strip()]
        malformed = [pair[0] for pair in pairs if len(pair) != 2 or not pair[0].strip().isdigit()]
        if malformed:
            raise ValueError(f"{path} must hold lines `id::name`; these are not: {malformed[:5]}.")
        items = pd.DataFrame({"item": [int(pair[0]) for pair in pairs], "title": [pair[1] for pair in pairs]})
        title_rule = clean_title
    catalogue, keys = catalogue_from_items(items, "item", "title", title_rule, path)
    if catalogue.num_items != spec.padding_id:
        raise ValueError(
            f"{path} names {catalogue.num_items} items but the {name} release has {spec.padding_id} "
            f"(ids 0..{spec.padding_id - 1}, padding id {spec.padding_id}): is this the {name} folder?"
        )
    if spec.titles_file != "u.item" and not np.array_equal(keys.to_numpy(), np.arange(spec.padding_id)):
        raise ValueError(f"{path} must name every item id 0..{spec.padding_id - 1} exactly once.")
    return catalogue


def release_split_files(name: str, folder: str) -> dict[str, str]:
    """The split files present; train and validation are required, a missing test file is only logged."""
    required = [RELEASE_SPLIT_FILES["train"], RELEASE_SPLIT_FILES["validation"]]
    require_files(folder, required, _layout(name))
    files = {split: os.path.join(folder, file) for split, file in RELEASE_SPLIT_FILES.items()}
    if not os.path.isfile(files["test"]):
        logger.warning(
            "No %s in %s: the %s dataset will have only train and validation splits.",
            RELEASE_SPLIT_FILES["test"],
            folder,
            name,
        )
        del files["test"]
    return files


def check_pickles_trusted(path: str, trust_pickles: bool) -> None:
    if not trust_pickles:
        raise PermissionError(
            f"{path} is a pandas pickle from the LLaRA release, and loading a pickle runs code stored in the "
            "file. Pass trust_pickles=True (`llara prepare --trust-pickles`) only for the release's own files "
            f"({RELEASE_URL}) or copies you trust; everything llara-hf writes is Parquet or JSON."
        )


def read_release_split(path: str, padding_id: int, trust_pickles: bool = False) -> SplitWindows:
    """Unpickle one split file (only with `trust_pickles=True`) into windows without padding."""
    check_pickles_trusted(path, trust_pickles)
    frame = pd.read_pickle(path)
    missing = sorted({"seq", "next"} - set(frame.columns))
    if missing:
        raise ValueError(
            f"{path} has no column {missing}: a LLaRA release split has columns seq, len_seq, next."
        )
    histories = []
    for sequence in frame["seq"]:
        items = np.asarray(sequence, dtype=np.int64)
        items = items[:, 0] if items.ndim == 2 else items
        histories.append(items[items != padding_id])
    targets = np.asarray(frame["next"].tolist(), dtype=np.int64)
    targets = targets[:, 0] if targets.ndim == 2 else targets
    for what, ids in (("history", np.concatenate([targets[:0], *histories])), ("target", targets)):
        outside = ids[(ids < 0) | (ids >= padding_id)]
        if len(outside):
            raise ValueError(
                f"{path} has {what} item ids {np.unique(outside)[:5].tolist()} outside 0..{padding_id - 1}: "
                f"is this split from the same dataset as the item names (padding id {padding_id})?"
            )
    return SplitWindows(
        histories=histories,
        targets=targets,
        excluded=[
            np.union1d(history, [target]) for history, target in zip(histories, targets.tolist(), strict=True)
        ],
    )
