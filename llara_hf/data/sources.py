"""From a config and a folder to a catalogue and windows: picks the reader for the folder's layout."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..item_catalogue import ItemCatalogue
from .config import LlaraDataConfig
from .events import EventLog
from .movielens import MOVIELENS_LAYOUTS
from .protocol import SplitWindows, windows_from_event_log
from .release import (
    RELEASE_SPLIT_FILES,
    RELEASES,
    is_release_folder,
    read_release_catalogue,
    read_release_split,
    release_split_files,
)
from .user_tables import read_user_tables

SOURCE_NAMES = (*RELEASES, "interactions")
RELEASE_LAYOUT = "llara-release"


@dataclass
class SourceData:
    """A source read into the protocol's windows, with the layout it was read from."""

    layout: str
    catalogue: ItemCatalogue
    windows: dict[str, SplitWindows]


def detect_layout(name: str, folder: str | None) -> str:
    """`llara-release`, one of the MovieLens layouts (`ml-100k`, `movielens-csv`, `ml-1m`) or `interactions`."""
    if name == "interactions":
        return "interactions"
    if name not in RELEASES:
        raise ValueError(f"Unknown dataset {name!r}: use one of {list(SOURCE_NAMES)}.")
    if folder is not None and is_release_folder(folder):
        return RELEASE_LAYOUT
    expected = [f"LLaRA release ({', '.join([*RELEASE_SPLIT_FILES.values(), RELEASES[name].titles_file])})"]
    if name == "movielens":
        for layout, (files, _) in MOVIELENS_LAYOUTS.items():
            if folder is not None and os.path.isfile(os.path.join(folder, files[0])):
                return layout
            expected.append(f"{layout} ({', '.join(files)})")
    raise FileNotFoundError(
        f"No {name} data in {folder}: expected one of these layouts: {'; '.join(expected)}."
    )


def _event_log(config: LlaraDataConfig, layout: str, folder: str | None) -> EventLog:
    if layout == "interactions":
        return read_user_tables(
            folder,
            config.interactions_file,
            config.items_file,
            user_column=config.user_column,
            item_column=config.item_column,
            timestamp_column=config.timestamp_column,
            title_column=config.title_column,
        )
    return MOVIELENS_LAYOUTS[layout][1](folder)


def read_source(config: LlaraDataConfig, folder: str | None) -> SourceData:
    """Read the folder's layout for `config.name` into windows per split (short histories not yet dropped)."""
    layout = detect_layout(config.name, folder)
    if layout == RELEASE_LAYOUT:
        files = release_split_files(config.name, folder)
        catalogue = read_release_catalogue(config.name, folder)
        padding_id = RELEASES[config.name].padding_id
        windows = {
            split: read_release_split(path, padding_id, config.trust_pickles) for split, path in files.items()
        }
        return SourceData(layout, catalogue, windows)
    log = _event_log(config, layout, folder)
    windows = windows_from_event_log(
        log, max_history=config.max_history, split_ratios=config.split_ratios, seed=config.seed
    )
    return SourceData(layout, log.catalogue, windows)


def read_item_catalogue(config: LlaraDataConfig, folder: str | None) -> ItemCatalogue:
    """The catalogue alone; never unpickles anything."""
    layout = detect_layout(config.name, folder)
    if layout == RELEASE_LAYOUT:
        return read_release_catalogue(config.name, folder)
    return _event_log(config, layout, folder).catalogue
