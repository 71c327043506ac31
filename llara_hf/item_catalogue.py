"""The item catalogue: contiguous item ids `0 .. num_items - 1` and their titles."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

CATALOGUE_FILE = "item_catalogue.json"
ITEM_PAD_ID = -100
"""Padding of `(batch, max_items)` item-id tensors; real item ids are `>= 0`."""


@dataclass
class ItemCatalogue:
    """Titles indexed by item id; `source_ids` keeps each item's id in the source data, when it had one."""

    titles: list[str]
    source_ids: list[str] | None = None
    _by_title: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.titles = [str(title) for title in self.titles]
        if not self.titles:
            raise ValueError("An item catalogue needs at least one item.")
        missing = [item_id for item_id, title in enumerate(self.titles) if not title.strip()]
        if missing:
            raise ValueError(f"Items {missing[:10]} have no title: every item needs a non-empty title.")
        if self.source_ids is not None:
            self.source_ids = [str(source_id) for source_id in self.source_ids]
            if len(self.source_ids) != len(self.titles):
                raise ValueError(
                    f"The catalogue has {len(self.titles)} titles but {len(self.source_ids)} source ids."
                )
        self._by_title = {}
        for item_id, title in enumerate(self.titles):
            self._by_title.setdefault(title.casefold(), item_id)

    @property
    def num_items(self) -> int:
        return len(self.titles)

    def __len__(self) -> int:
        return len(self.titles)

    def check_ids(self, item_ids: Iterable[int], what: str = "item") -> list[int]:
        """Return the ids as ints, or raise a `ValueError` naming the first id outside the catalogue."""
        checked = []
        for item_id in item_ids:
            item_id = int(item_id)
            if not 0 <= item_id < self.num_items:
                raise ValueError(
                    f"Unknown {what} id {item_id}: the item catalogue has ids 0..{self.num_items - 1}. "
                    "Use the dataset's item ids (not the source file's), as `ItemCatalogue.source_ids` maps them."
                )
            checked.append(item_id)
        return checked

    def title(self, item_id: int) -> str:
        return self.titles[self.check_ids([item_id])[0]]

    def titles_of(self, item_ids: Sequence[int], what: str = "item") -> list[str]:
        return [self.titles[item_id] for item_id in self.check_ids(item_ids, what)]

    def id_of_title(self, title: str) -> int | None:
        """The id of the first item with this title (case-insensitive), or None."""
        return self._by_title.get(title.strip().casefold())

    def to_dict(self) -> dict:
        return {"titles": self.titles, "source_ids": self.source_ids}

    @classmethod
    def from_dict(cls, data: dict) -> ItemCatalogue:
        return cls(titles=data["titles"], source_ids=data.get("source_ids"))

    def save(self, directory: str | os.PathLike) -> str:
        """Write `item_catalogue.json` into `directory` atomically and return its path."""
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, CATALOGUE_FILE)
        temporary = f"{path}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(self.to_dict(), handle, ensure_ascii=False)
        os.replace(temporary, path)
        return path

    @classmethod
    def load(cls, directory: str | os.PathLike) -> ItemCatalogue:
        path = os.path.join(directory, CATALOGUE_FILE)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"No {CATALOGUE_FILE} in {directory}: save the catalogue with the processor."
            )
        with open(path, encoding="utf-8") as handle:
            return cls.from_dict(json.load(handle))
