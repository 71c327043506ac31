"""The data layer on the real files in ../shared/data (skipped when that folder is absent)."""

from pathlib import Path

import pytest

from llara_hf.data import LlaraDataConfig, load_item_catalogue, load_llara_dataset
from llara_hf.data.builder import prepare_columns

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RELEASE_MOVIELENS, RELEASE_LASTFM = SHARED_DATA / "llara" / "movielens", SHARED_DATA / "llara" / "lastfm"
ML_100K, ML_LATEST = SHARED_DATA / "ml-100k", SHARED_DATA / "ml-latest-small"

pytestmark = pytest.mark.slow


def need(folder: Path) -> str:
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent (the real data of ../shared/data)")
    return str(folder)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("datasets-cache"))


def assert_candidates_are_valid(split) -> None:
    for row in split:
        candidates = row["candidate_item_ids"]
        assert len(candidates) == len(set(candidates)) == 20
        assert row["target_item_id"] in candidates
        assert not set(candidates) & set(row["history_item_ids"])


def test_llara_release_movielens(cache):
    dataset = load_llara_dataset(
        "movielens", data_dir=need(RELEASE_MOVIELENS), trust_pickles=True, cache_dir=cache
    )
    assert {split: dataset[split].num_rows for split in dataset} == {
        "train": 80846,
        "validation": 94,
        "test": 95,
    }
    assert_candidates_are_valid(dataset["validation"])
    assert_candidates_are_valid(dataset["test"])
    assert set(dataset["test"]["user_id"]) == {None}


def test_llara_release_lastfm_has_no_test_split(cache):
    dataset = load_llara_dataset("lastfm", data_dir=need(RELEASE_LASTFM), trust_pickles=True, cache_dir=cache)
    assert {split: dataset[split].num_rows for split in dataset} == {"train": 47872, "validation": 122}
    assert_candidates_are_valid(dataset["validation"])


def test_raw_ml_100k_splits_users_754_94_95(cache):
    dataset = load_llara_dataset("movielens", data_dir=need(ML_100K), seed=42, cache_dir=cache)
    users = {split: set(dataset[split]["user_id"]) for split in dataset}
    assert [len(users[split]) for split in ("train", "validation", "test")] == [754, 94, 95]
    assert len(set.union(*users.values())) == 943
    assert [dataset[split].num_rows for split in ("validation", "test")] == [94, 95]
    assert_candidates_are_valid(dataset["test"])
    # The same seed gives the same rows; another seed other candidates (and another split).
    _, same = prepare_columns(LlaraDataConfig(name="movielens", seed=42), str(ML_100K))
    _, other = prepare_columns(LlaraDataConfig(name="movielens", seed=43), str(ML_100K))
    assert same["test"] == dataset["test"].to_dict()
    assert (
        same["train"]["candidate_item_ids"][:100] == dataset["train"].select(range(100))["candidate_item_ids"]
    )
    assert other["test"]["candidate_item_ids"] != same["test"]["candidate_item_ids"]


def test_release_and_raw_movielens_share_the_catalogue():
    from_release = load_item_catalogue("movielens", data_dir=need(RELEASE_MOVIELENS))
    from_raw = load_item_catalogue("movielens", data_dir=need(ML_100K))
    assert from_release == from_raw and from_raw.num_items == 1682
    assert from_raw.titles[11] == "The Usual Suspects"  # ML-100K movie 12, "Usual Suspects, The (1995)"


def test_movielens_latest_small_catalogue():
    catalogue = load_item_catalogue("movielens", data_dir=need(ML_LATEST))
    assert catalogue.num_items == 9742 and catalogue.source_ids[:3] == ["1", "2", "3"]
    assert catalogue.id_of_title("The Usual Suspects") is not None
