"""Bad input gets a clear error naming the problem and the fix, before anything is written."""

import os

import pandas as pd
import pytest
from test_data_builder import synthetic_tables, write_tables

from llara_hf.data import load_item_catalogue, load_llara_dataset
from llara_hf.data.events import event_log_from_tables
from llara_hf.data.titles import clean_title


def build(folder, tmp_path, **options):
    return load_llara_dataset(
        "interactions", data_dir=str(folder), cache_dir=str(tmp_path / "cache"), **options
    )


def test_missing_table_names_the_file_and_the_layout(tmp_path):
    interactions, _ = synthetic_tables()
    os.makedirs(tmp_path / "tables")
    interactions.to_csv(tmp_path / "tables" / "interactions.csv", index=False)
    with pytest.raises(FileNotFoundError, match=r"No items tables in .*items table \(columns item, title\)"):
        build(tmp_path / "tables", tmp_path)
    with pytest.raises(FileNotFoundError, match=r"Missing .*catalogue\.csv: the interactions config reads"):
        build(tmp_path / "tables", tmp_path, items_file="catalogue.csv")


def test_unknown_column_names_the_option_and_the_columns_there(tmp_path):
    folder = write_tables(tmp_path / "tables")
    with pytest.raises(
        ValueError, match=r"no column 'customer' \(option user_column\).*'user', 'item', 'timestamp'"
    ):
        build(folder, tmp_path, user_column="customer")


def test_item_without_a_title_is_named(tmp_path):
    interactions, items = synthetic_tables()
    folder = write_tables(tmp_path / "tables", interactions, items[items["item"] != 106])
    with pytest.raises(ValueError, match=r"items that have no title in .*items\.csv, e\.g\. \[106\]"):
        build(folder, tmp_path)
    items.loc[items["item"] == 109, "title"] = None
    folder = write_tables(tmp_path / "blank", interactions, items)
    with pytest.raises(ValueError, match=r"no title for items \[109\]"):
        build(folder, tmp_path)


def test_all_filtered_split_is_an_error(tmp_path):
    interactions, items = synthetic_tables(events=3)  # histories of at most 2 items
    folder = write_tables(tmp_path / "tables", interactions, items)
    with pytest.raises(
        ValueError, match=r"The train split of interactions .* is empty after dropping rows with fewer"
    ):
        build(folder, tmp_path)


def test_too_few_items_for_the_candidates(tmp_path):
    interactions, items = synthetic_tables(num_items=15, events=6)
    folder = write_tables(tmp_path / "tables", interactions, items)
    with pytest.raises(ValueError, match="num_candidates=20 but the catalogue has only 15 items"):
        build(folder, tmp_path)


@pytest.mark.parametrize("count", [0, -1])
def test_non_positive_candidate_count(tmp_path, count):
    folder = write_tables(tmp_path / "tables")
    with pytest.raises(ValueError, match="num_candidates must be a positive integer"):
        build(folder, tmp_path, num_candidates=count)


def test_unknown_names_and_options_list_the_valid_ones(tmp_path):
    folder = write_tables(tmp_path / "tables")
    with pytest.raises(
        ValueError, match=r"Unknown dataset 'netflix'.*'movielens', 'steam', 'lastfm', 'interactions'"
    ):
        load_llara_dataset("netflix", data_dir=folder)
    with pytest.raises(ValueError, match=r"Unknown options \['num_negatives'\].*'num_candidates'"):
        build(folder, tmp_path, num_negatives=19)
    with pytest.raises(ValueError, match=r"min_history=5 exceeds max_history=4"):
        build(folder, tmp_path, min_history=5, max_history=4)
    with pytest.raises(ValueError, match=r"Unknown prompt domain 'books'"):
        build(folder, tmp_path, domain="books")


def test_release_only_datasets_need_a_folder():
    with pytest.raises(ValueError, match=r"lastfm data comes from the LLaRA release only.*data_dir="):
        load_item_catalogue("lastfm")


def test_unreadable_timestamps_and_empty_cells(tmp_path):
    interactions, items = synthetic_tables()
    broken = interactions.astype({"timestamp": object})
    broken.iloc[4, broken.columns.get_loc("timestamp")] = "not a date"
    with pytest.raises(ValueError, match="'timestamp' holds neither numbers nor dates"):
        build(write_tables(tmp_path / "dates", broken, items), tmp_path)
    interactions.iloc[2, interactions.columns.get_loc("user")] = None
    with pytest.raises(ValueError, match=r"1 rows without a value in 'user' \(user_column\)"):
        build(write_tables(tmp_path / "users", interactions, items), tmp_path)


def test_dates_as_text_sort_in_time():
    interactions = pd.DataFrame(
        {
            "user": ["a"] * 5,
            "item": [4, 3, 2, 1, 0],
            "timestamp": ["2024-01-05", "2024-01-04", "2024-01-03", "2024-01-02", "2023-12-31"],
        }
    )
    items = pd.DataFrame({"item": range(6), "title": list("ABCDEF")})
    log = event_log_from_tables(interactions, items, title_rule=clean_title)
    assert log.item_ids.tolist() == [0, 1, 2, 3, 4]


def test_placeholder_token_in_a_title_or_template_is_refused(tmp_path):
    interactions, items = synthetic_tables()
    items.loc[items["item"] == 100, "title"] = "Film [ItemEmb]"
    with pytest.raises(ValueError, match=r"Items \[0\] have titles containing the placeholder token"):
        build(write_tables(tmp_path / "titles", interactions, items), tmp_path)
    with pytest.raises(ValueError, match="A prompt template contains the placeholder token"):
        build(write_tables(tmp_path / "tables"), tmp_path, templates=["{history} [ItemEmb] {candidates}"])


def test_data_dir_that_is_not_a_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"data_dir .*nowhere is not a folder"):
        build(tmp_path / "nowhere", tmp_path)
