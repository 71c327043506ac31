"""`LlaraDataConfig`: every option of a LLaRA dataset build, all of them part of its cache fingerprint."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

import datasets

from ..prompt_templates import resolve_templates
from .release import RELEASE_URL, RELEASES

GROUPLENS_URLS = {
    "ml-100k": "https://files.grouplens.org/datasets/movielens/ml-100k.zip",
    "ml-latest-small": "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip",
    "ml-1m": "https://files.grouplens.org/datasets/movielens/ml-1m.zip",
}


@dataclass
class LlaraDataConfig(datasets.BuilderConfig):
    """Options for `LlaraDatasetBuilder`; the config's `name` picks the source (`movielens`, `lastfm`, ...).

    `seed` fixes the user split, the candidates and the template of every row. `domain` picks the built-in
    prompt templates (`movie`, `game`, `music_artist`); `templates` replaces them with your own. The
    `interactions` config reads `interactions_file` and `items_file` (relative to `data_dir`), whose columns
    are named by the `*_column` options. `grouplens_dataset` is the MovieLens file downloaded when
    `movielens` has no `data_dir`. `source_signature` is set by the builder from the source files' sizes
    and modification times, so that editing a file rebuilds the cached dataset.
    """

    seed: int = 42
    num_candidates: int = 20
    max_history: int = 10
    min_history: int = 3
    split_ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    trust_pickles: bool = False
    domain: str = "movie"
    templates: tuple[str, ...] | None = None
    grouplens_dataset: str = "ml-100k"
    interactions_file: str | None = None
    items_file: str | None = None
    user_column: str = "user"
    item_column: str = "item"
    timestamp_column: str = "timestamp"
    title_column: str = "title"
    source_signature: str | None = None

    def prompt_templates(self) -> tuple[str, ...]:
        """The templates rows are rendered with: `templates` if given, else the domain's."""
        return resolve_templates(self.domain if self.templates is None else self.templates)

    def validate(self) -> None:
        """Raise a `ValueError` naming the first bad option and its fix."""
        for option in ("num_candidates", "max_history", "min_history"):
            value = getattr(self, option)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{option} must be a positive integer, got {value!r}.")
        if self.min_history > self.max_history:
            raise ValueError(
                f"min_history={self.min_history} exceeds max_history={self.max_history}: no row could be kept."
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}.")
        ratios = tuple(self.split_ratios)
        if len(ratios) != 3 or any(not ratio > 0 for ratio in ratios):
            raise ValueError(
                f"split_ratios must be three positive numbers (train, validation, test), got {self.split_ratios!r}."
            )
        if self.grouplens_dataset not in GROUPLENS_URLS:
            raise ValueError(
                f"Unknown grouplens_dataset {self.grouplens_dataset!r}: use one of {sorted(GROUPLENS_URLS)}."
            )
        self.prompt_templates()
        if self.data_dir is not None and not os.path.isdir(self.data_dir):
            raise FileNotFoundError(
                f"data_dir {self.data_dir} is not a folder: pass the folder holding the data."
            )
        if self.data_dir is None and self.name in RELEASES and self.name != "movielens":
            raise ValueError(
                f"The {self.name} data comes from the LLaRA release only: download its {self.name}/ folder from "
                f"{RELEASE_URL} and pass data_dir=<that folder>."
            )
        if (
            self.data_dir is None
            and self.name == "interactions"
            and None in (self.interactions_file, self.items_file)
        ):
            raise ValueError(
                "The interactions config needs data_dir=<folder with interactions.* and items.*>, or both "
                "interactions_file= and items_file=."
            )


def option_names() -> tuple[str, ...]:
    """The options a user may pass to `load_llara_dataset` (everything but the builder's own fields)."""
    internal = {field.name for field in fields(datasets.BuilderConfig)} | {"source_signature"}
    return tuple(field.name for field in fields(LlaraDataConfig) if field.name not in internal)
