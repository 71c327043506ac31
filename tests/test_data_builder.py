"""`load_llara_dataset` end to end on tiny synthetic tables written here: schema, prompts, seeds, cache."""

import os

import numpy as np
import pandas as pd
import pytest

from llara_hf.data import ROW_FEATURES, load_item_catalogue, load_llara_dataset
from llara_hf.prompt_templates import DEFAULT_ITEM_TOKEN, PROMPT_TEMPLATES, render_prompt

NUM_USERS, NUM_ITEMS = 30, 60


def synthetic_tables(num_users: int = NUM_USERS, num_items: int = NUM_ITEMS, events: int = 15):
    """Interactions (user, item, timestamp) with item keys 100, 103, ... and an items table, shuffled."""
    rng = np.random.default_rng(7)
    rows = [
        (f"user-{user}", 100 + 3 * int(item), 1_000 + 10 * step + user)
        for user in range(num_users)
        for step, item in enumerate(rng.choice(num_items, events, replace=False))
    ]
    interactions = pd.DataFrame(rows, columns=["user", "item", "timestamp"]).sample(frac=1, random_state=1)
    items = pd.DataFrame(
        {"item": 100 + 3 * np.arange(num_items), "title": [f"Film {i}" for i in range(num_items)]}
    )
    return interactions, items.sample(frac=1, random_state=2)


def write_tables(folder, interactions=None, items=None, suffix: str = ".csv") -> str:
    """Write the tables as interactions<suffix> and items<suffix> into `folder` and return it."""
    if interactions is None:
        interactions, items = synthetic_tables()
    os.makedirs(folder, exist_ok=True)
    for stem, table in (("interactions", interactions), ("items", items)):
        path = os.path.join(folder, stem + suffix)
        if suffix == ".csv":
            table.to_csv(path, index=False)
        elif suffix == ".parquet":
            table.to_parquet(path, index=False)
        else:
            table.to_json(path, orient="records", lines=True)
    return str(folder)


@pytest.fixture
def folder(tmp_path):
    return write_tables(tmp_path / "tables")


def build(folder, cache, **options):
    return load_llara_dataset("interactions", data_dir=folder, cache_dir=str(cache), **options)


def test_rows_follow_the_schema_and_the_protocol(folder, tmp_path):
    dataset = build(folder, tmp_path / "cache", seed=0)
    interactions, _ = synthetic_tables()
    seen = interactions.groupby("user")["item"].apply(lambda items: {(item - 100) // 3 for item in items})
    assert list(dataset) == ["train", "validation", "test"]
    assert [dataset[split].num_rows for split in dataset] == [
        24 * 12,
        3,
        3,
    ]  # windows with >= 3 history items
    templates = PROMPT_TEMPLATES["movie"]
    for split in dataset:
        assert dataset[split].features == ROW_FEATURES
        for row in dataset[split]:
            history, candidates = row["history_item_ids"], row["candidate_item_ids"]
            assert 3 <= len(history) <= 10
            assert len(candidates) == len(set(candidates)) == 20
            assert row["target_item_id"] in candidates
            assert not (set(candidates) - {row["target_item_id"]}) & seen[row["user_id"]]
            assert row["history_titles"] == [f"Film {item}" for item in history]
            assert row["candidate_titles"] == [f"Film {item}" for item in candidates]
            assert row["completion"] == row["target_title"] == f"Film {row['target_item_id']}"
            template = templates[row["template_id"]]
            assert row["prompt"] == render_prompt(
                template, row["history_titles"], row["candidate_titles"], item_token=DEFAULT_ITEM_TOKEN
            )
            assert row["prompt"].count(DEFAULT_ITEM_TOKEN) == len(history) + len(candidates)
            assert row["prompt_text_only"] == render_prompt(
                template, row["history_titles"], row["candidate_titles"]
            )
    assert set(dataset["train"]["template_id"]) == {0, 1, 2}
    users = {split: set(dataset[split]["user_id"]) for split in dataset}
    assert not users["train"] & users["validation"] and not users["validation"] & users["test"]


def test_the_same_seed_rebuilds_the_same_rows_and_another_seed_other_candidates(folder, tmp_path):
    first = build(folder, tmp_path / "first", seed=5)
    again = build(folder, tmp_path / "again", seed=5)
    other = build(folder, tmp_path / "other", seed=6)
    for split in first:
        assert first[split].to_list() == again[split].to_list()
    assert first["test"]["candidate_item_ids"] != other["test"]["candidate_item_ids"]


def test_the_cache_is_reused_until_a_source_file_changes(folder, tmp_path):
    first = build(folder, tmp_path / "cache", seed=0)
    again = build(folder, tmp_path / "cache", seed=0)
    assert again["train"].cache_files == first["train"].cache_files
    interactions, items = synthetic_tables(num_users=NUM_USERS + 10)
    write_tables(folder, interactions, items)
    changed = build(folder, tmp_path / "cache", seed=0)
    assert changed["train"].cache_files != first["train"].cache_files
    assert changed["train"].num_rows > first["train"].num_rows


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_parquet_and_json_lines_tables_with_custom_column_names(tmp_path, suffix):
    interactions, items = synthetic_tables()
    interactions = interactions.rename(columns={"user": "visitor", "item": "sku", "timestamp": "when"})
    items = items.rename(columns={"item": "sku", "title": "name"})
    folder = write_tables(tmp_path / "tables", interactions, items, suffix)
    names = {
        "user_column": "visitor",
        "item_column": "sku",
        "timestamp_column": "when",
        "title_column": "name",
    }
    dataset = build(folder, tmp_path / "cache", seed=0, domain="game", num_candidates=5, **names)
    row = dataset["test"][0]
    assert len(row["candidate_item_ids"]) == 5
    assert row["template_id"] in range(3) and row["prompt"].startswith(
        PROMPT_TEMPLATES["game"][row["template_id"]][:20]
    )


def test_custom_templates_and_explicit_file_paths(tmp_path):
    folder = write_tables(tmp_path / "tables")
    template = "History: {history}. Candidates: {candidates}. Next:"
    dataset = load_llara_dataset(
        "interactions",
        interactions_file=os.path.join(folder, "interactions.csv"),
        items_file=os.path.join(folder, "items.csv"),
        templates=[template],
        cache_dir=str(tmp_path / "cache"),
    )
    assert set(dataset["train"]["template_id"]) == {0}
    assert dataset["validation"][0]["prompt"].startswith("History: Film ")


def test_item_catalogue_maps_sorted_keys_to_contiguous_ids(folder):
    catalogue = load_item_catalogue("interactions", data_dir=folder)
    assert catalogue.num_items == NUM_ITEMS
    assert catalogue.source_ids[:3] == ["100", "103", "106"]
    assert catalogue.titles[:3] == ["Film 0", "Film 1", "Film 2"]


def test_rows_render_through_the_processor_with_one_placeholder_per_item(folder, tmp_path):
    from tiny_models import tiny_tokenizer

    from llara_hf import LlaraProcessor

    dataset = build(folder, tmp_path / "cache", seed=0)
    processor = LlaraProcessor(
        tiny_tokenizer(), load_item_catalogue("interactions", data_dir=folder), "movie"
    )
    for row in dataset["validation"].to_list() + dataset["train"].select(range(20)).to_list():
        prompt, item_ids = processor.render(
            row["history_item_ids"], row["candidate_item_ids"], template_id=row["template_id"]
        )
        assert prompt == row["prompt"]
        encoding = processor.encode(
            row["history_item_ids"],
            row["candidate_item_ids"],
            row["target_item_id"],
            template_id=row["template_id"],
        )
        assert encoding["input_ids"].count(processor.item_token_id) == len(encoding["item_ids"])
        assert len(encoding["item_ids"]) == len(row["history_item_ids"]) + len(row["candidate_item_ids"])
