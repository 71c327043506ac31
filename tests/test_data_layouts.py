"""Each folder layout on tiny synthetic files: the LLaRA release (pickles) and GroupLens MovieLens files."""

import os

import pandas as pd
import pytest

from llara_hf.data import load_item_catalogue, load_llara_dataset
from llara_hf.data.sources import detect_layout

LASTFM_PADDING, MOVIELENS_PADDING = 4606, 1682


def write_u_item(folder, num_items: int = MOVIELENS_PADDING) -> None:
    os.makedirs(folder, exist_ok=True)
    lines = [f"{i}|Movie {i}, The (1995)|01-Jan-1995||http://x|0|1\n" for i in range(1, num_items + 1)]
    with open(os.path.join(folder, "u.item"), "w", encoding="ISO-8859-1") as handle:
        handle.writelines(lines)


def release_frame(histories, targets, padding_id, with_ratings: bool) -> pd.DataFrame:
    def item(value):
        return (value, 4) if with_ratings else value

    padding = (padding_id, 0) if with_ratings else padding_id
    return pd.DataFrame(
        {
            "seq": [[item(v) for v in history] + [padding] * (10 - len(history)) for history in histories],
            "len_seq": [max(len(history), 1) for history in histories],
            "next": [item(target) for target in targets],
        }
    )


def write_lastfm_release(folder, with_test: bool = False) -> str:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "id2name.txt"), "w", encoding="utf-8") as handle:
        handle.writelines(f"{i}::Artist {i} \n" for i in range(LASTFM_PADDING))
    train = release_frame(
        [[], [0], [0, 1], [0, 1, 2], list(range(10))], [0, 1, 2, 3, 10], LASTFM_PADDING, False
    )
    train.to_pickle(os.path.join(folder, "train_data.df"))
    release_frame([[5, 6, 7, 8]], [9], LASTFM_PADDING, False).to_pickle(os.path.join(folder, "Val_data.df"))
    if with_test:
        release_frame([[7, 8, 9]], [11], LASTFM_PADDING, False).to_pickle(
            os.path.join(folder, "Test_data.df")
        )
    return str(folder)


def test_release_pickles_need_an_explicit_opt_in(tmp_path, monkeypatch):
    folder = write_lastfm_release(tmp_path / "lastfm")

    def refuse(*args, **kwargs):
        raise AssertionError("a pickle was loaded without trust_pickles=True")

    monkeypatch.setattr(pd, "read_pickle", refuse)
    with pytest.raises(PermissionError, match=r"train_data\.df is a pandas pickle .* trust_pickles=True"):
        load_llara_dataset("lastfm", data_dir=folder, cache_dir=str(tmp_path / "cache"))
    assert load_item_catalogue("lastfm", data_dir=folder).titles[:2] == ["Artist 0", "Artist 1"]


def test_lastfm_release_without_test_file_has_two_splits(tmp_path, caplog):
    folder = write_lastfm_release(tmp_path / "lastfm")
    with caplog.at_level("WARNING"):
        dataset = load_llara_dataset(
            "lastfm", data_dir=folder, trust_pickles=True, num_candidates=6, cache_dir=str(tmp_path / "cache")
        )
    assert "No Test_data.df" in caplog.text
    assert list(dataset) == ["train", "validation"]
    assert dataset["train"]["history_item_ids"] == [[0, 1, 2], list(range(10))]  # shorter histories dropped
    assert dataset["train"]["user_id"] == [None, None]
    for row in dataset["train"].to_list() + dataset["validation"].to_list():
        negatives = set(row["candidate_item_ids"]) - {row["target_item_id"]}
        assert len(row["candidate_item_ids"]) == 6 and row["target_item_id"] in row["candidate_item_ids"]
        assert not negatives & set(row["history_item_ids"])
        assert row["prompt"].startswith(("This user has listened to Artist", "The listening history"))


def test_release_splits_do_not_depend_on_each_other_and_validation_is_required(tmp_path):
    folder = write_lastfm_release(tmp_path / "lastfm", with_test=True)
    dataset = load_llara_dataset("lastfm", data_dir=folder, trust_pickles=True, cache_dir=str(tmp_path / "c"))
    assert list(dataset) == ["train", "validation", "test"]
    os.remove(os.path.join(folder, "Test_data.df"))
    without_test = load_llara_dataset(
        "lastfm", data_dir=folder, trust_pickles=True, cache_dir=str(tmp_path / "c")
    )
    for split in without_test:  # each split draws from its own seeded stream
        assert without_test[split].to_list() == dataset[split].to_list()
    os.remove(os.path.join(folder, "Val_data.df"))
    with pytest.raises(
        FileNotFoundError, match=r"Missing Val_data\.df in .*LLaRA release \(lastfm: train_data\.df"
    ):
        load_llara_dataset("lastfm", data_dir=folder, trust_pickles=True, cache_dir=str(tmp_path / "c"))


def test_release_ids_outside_the_catalogue_are_refused(tmp_path):
    folder = write_lastfm_release(tmp_path / "lastfm")
    release_frame([[1, 2, 3]], [5000], LASTFM_PADDING, False).to_pickle(os.path.join(folder, "Val_data.df"))
    with pytest.raises(ValueError, match=r"Val_data\.df has target item ids \[5000\] outside 0\.\.4605"):
        load_llara_dataset("lastfm", data_dir=folder, trust_pickles=True, cache_dir=str(tmp_path / "c"))


def test_movielens_release_and_raw_ml_100k_share_item_ids(tmp_path):
    release, raw = tmp_path / "release", tmp_path / "ml-100k"
    write_u_item(release)
    write_u_item(raw)
    frame = release_frame([[0, 1, 2, 3]], [1681], MOVIELENS_PADDING, True)
    for name in ("train_data.df", "Val_data.df", "Test_data.df"):
        frame.to_pickle(os.path.join(release, name))
    events = [
        (user, item, 4, 1000 + step)
        for user in range(1, 11)
        for step, item in enumerate(range(user, user + 8))
    ]
    pd.DataFrame(events).to_csv(os.path.join(raw, "u.data"), sep="\t", header=False, index=False)
    assert detect_layout("movielens", str(release)) == "llara-release"
    assert detect_layout("movielens", str(raw)) == "ml-100k"
    from_release = load_item_catalogue("movielens", data_dir=str(release))
    assert from_release == load_item_catalogue("movielens", data_dir=str(raw))
    assert from_release.titles[0] == "The Movie 1" and from_release.source_ids[0] == "1"
    dataset = load_llara_dataset(
        "movielens", data_dir=str(release), trust_pickles=True, cache_dir=str(tmp_path / "c")
    )
    assert dataset["test"][0]["history_titles"] == [
        "The Movie 1",
        "The Movie 2",
        "The Movie 3",
        "The Movie 4",
    ]
    assert dataset["test"][0]["target_title"] == "The Movie 1682"
    raw_rows = load_llara_dataset("movielens", data_dir=str(raw), seed=0, cache_dir=str(tmp_path / "c"))
    assert [raw_rows[split].num_rows for split in raw_rows] == [
        8 * 5,
        1,
        1,
    ]  # 8 training users, targets at positions 3..7
    for row in raw_rows["test"]:  # user u rated ML-100K movies u..u+7 in that order
        user = int(row["user_id"])
        assert (
            row["history_item_ids"] == list(range(user - 1, user + 6)) and row["target_item_id"] == user + 6
        )


def test_movielens_latest_csv_and_1m_dat_files(tmp_path):
    latest, one_million = tmp_path / "latest", tmp_path / "ml-1m"
    os.makedirs(latest)
    os.makedirs(one_million)
    movies = pd.DataFrame(
        {"movieId": [10, 2, 300], "title": ["Heat (1995)", "Rock, The (1996)", "Babylon 5"]}
    )
    movies.to_csv(latest / "movies.csv", index=False)
    ratings = pd.DataFrame(
        {"userId": [1, 1, 2], "movieId": [2, 10, 300], "rating": 4.0, "timestamp": [3, 2, 1]}
    )
    ratings.to_csv(latest / "ratings.csv", index=False)
    with open(one_million / "movies.dat", "w", encoding="ISO-8859-1") as handle:
        handle.write("1::Toy Story (1995)::Animation\n5::Usual Suspects, The (1995)::Crime\n")
    with open(one_million / "ratings.dat", "w", encoding="ISO-8859-1") as handle:
        handle.write("1::5::5::978300760\n1::1::3::978302109\n")
    csv_catalogue = load_item_catalogue("movielens", data_dir=str(latest))
    assert csv_catalogue.titles == ["The Rock", "Heat", "Babylon 5"] and csv_catalogue.source_ids == [
        "2",
        "10",
        "300",
    ]
    dat_catalogue = load_item_catalogue("movielens", data_dir=str(one_million))
    assert dat_catalogue.titles == ["Toy Story", "The Usual Suspects"] and dat_catalogue.source_ids == [
        "1",
        "5",
    ]


def test_a_folder_without_known_files_lists_the_layouts(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"No movielens data in .*ml-100k \(u\.data, u\.item\).*ratings\.csv"
    ):
        load_item_catalogue("movielens", data_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"Missing u\.item in .*MovieLens-100K"):
        pd.DataFrame([[1, 1, 5, 1]]).to_csv(tmp_path / "u.data", sep="\t", header=False, index=False)
        load_item_catalogue("movielens", data_dir=str(tmp_path))


def test_u_item_with_gaps_is_refused(tmp_path):
    write_u_item(tmp_path, num_items=5)
    with open(tmp_path / "u.item", "a", encoding="ISO-8859-1") as handle:
        handle.write("9|Gap (1990)|||x\n")
    pd.DataFrame([[1, 1, 5, 1]]).to_csv(tmp_path / "u.data", sep="\t", header=False, index=False)
    with pytest.raises(ValueError, match=r"must number its movies 1\.\.6 without gaps"):
        load_item_catalogue("movielens", data_dir=str(tmp_path))


def test_release_files_are_never_needed_to_read_their_catalogue(tmp_path):
    write_u_item(tmp_path)
    (tmp_path / "Val_data.df").write_bytes(b"not a pickle")
    assert load_item_catalogue("movielens", data_dir=str(tmp_path)).num_items == MOVIELENS_PADDING
