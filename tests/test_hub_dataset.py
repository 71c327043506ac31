"""Pushing LLaRA rows to the local test Hub and loading them back with `datasets.load_dataset`."""

import json

import pytest
from datasets import load_dataset
from huggingface_hub import DatasetCard, HfApi, hf_hub_download

from llara_hf.cli import main
from llara_hf.data import load_item_catalogue, load_llara_dataset
from llara_hf.data.synthetic import write_synthetic_interactions
from llara_hf.hub import push_llara_dataset_to_hub

OPTIONS = {"num_candidates": 5, "max_history": 4}


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    """Rows and catalogue of the synthetic interactions tables (the `interactions` layout)."""
    folder = tmp_path_factory.mktemp("synthetic")
    data_dir = write_synthetic_interactions(folder / "tables", seed=0)
    dataset = load_llara_dataset(
        "interactions", data_dir=data_dir, seed=3, cache_dir=str(folder / "cache"), **OPTIONS
    )
    return data_dir, dataset, load_item_catalogue("interactions", data_dir=data_dir, **OPTIONS)


def test_pushed_rows_load_back_equal_with_card_and_catalogue(rows, hub_repo_id):
    data_dir, dataset, catalogue = rows

    repo_id = push_llara_dataset_to_hub(
        dataset,
        hub_repo_id,
        name="interactions",
        layout="interactions",
        catalogue=catalogue,
        options={**OPTIONS, "seed": 3},
        data_dir=data_dir,
    )

    loaded = load_dataset(repo_id)
    assert sorted(loaded) == sorted(dataset)
    for split in dataset:
        assert loaded[split].features == dataset[split].features
        assert loaded[split].to_list() == dataset[split].to_list()
    card = DatasetCard.load(repo_id, repo_type="dataset")
    assert card.data.pretty_name == "LLaRA interactions (interactions)"
    assert {"llara", "recommendation"} <= set(card.data.tags)
    assert card.data.configs, "the card keeps the data files metadata that push_to_hub wrote"
    assert f"| train | {dataset['train'].num_rows} |" in card.text
    assert (
        "llara prepare interactions --data-dir tables --seed 3 --num-candidates 5 --max-history 4"
        in card.text
    )
    assert "must not be redistributed" not in card.text
    catalogue_path = hf_hub_download(repo_id, "item_catalogue.json", repo_type="dataset")
    assert json.loads(open(catalogue_path).read())["titles"] == catalogue.titles


def test_movielens_rows_warn_and_default_to_a_private_repo(rows, hub_repo_id):
    _, dataset, catalogue = rows

    with pytest.warns(UserWarning, match="MovieLens data is .* may not be redistributed"):
        repo_id = push_llara_dataset_to_hub(
            dataset, hub_repo_id, name="movielens", layout="ml-100k", catalogue=catalogue
        )

    assert HfApi().repo_info(repo_id, repo_type="dataset").private
    card = DatasetCard.load(repo_id, repo_type="dataset")
    assert "**MovieLens data must not be redistributed.**" in card.text
    assert card.data.license == "other"
    with pytest.warns(UserWarning, match="You asked for a PUBLIC repository"):
        push_llara_dataset_to_hub(
            dataset,
            f"{hub_repo_id}-public",
            name="movielens",
            layout="ml-100k",
            catalogue=catalogue,
            private=False,
        )
    assert not HfApi().repo_info(f"{hub_repo_id}-public", repo_type="dataset").private


def test_llara_push_sends_the_output_of_llara_prepare(rows, hub_repo_id, tmp_path, capsys):
    data_dir, _, _ = rows
    prepared = tmp_path / "prepared"
    assert main(["prepare", "interactions", "--data-dir", data_dir, "--output-dir", str(prepared)]) == 0

    assert main(["push", "--dataset-dir", str(prepared), "--repo-id", hub_repo_id]) == 0

    assert f"to {hub_repo_id}" in capsys.readouterr().out
    loaded = load_dataset(hub_repo_id)
    summary = json.loads((prepared / "prepare_summary.json").read_text())
    assert {split: loaded[split].num_rows for split in loaded} == summary["num_rows"]
    assert "item_catalogue.json" in HfApi().list_repo_files(hub_repo_id, repo_type="dataset")


def test_llara_push_names_the_missing_summary(tmp_path, capsys):
    assert main(["push", "--dataset-dir", str(tmp_path), "--repo-id", "someone/rows"]) == 1
    assert "No prepare_summary.json in" in capsys.readouterr().err
