"""The recommenders' trainer, evaluation and `llara train-recommender`, on tiny synthetic rows."""

import json
import os

import datasets
import pytest
import torch

from llara_hf.cli import main
from llara_hf.item_catalogue import ItemCatalogue
from llara_hf.recommender_registry import load_recommender
from llara_hf.recommenders import (
    EVALUATION_METRICS,
    RecommenderTrainingArguments,
    SequenceRows,
    evaluate_recommender,
    train_recommender,
)
from llara_hf.recommenders import trainer as trainer_module

NUM_ITEMS = 16
DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "llara", "movielens")


def successor_rows(num_candidates: int = 6) -> list[dict]:
    """Every history of 1 to 4 consecutive items (mod NUM_ITEMS); the next item always follows."""
    rows = []
    for start in range(NUM_ITEMS):
        for length in range(1, 5):
            history = [(start + offset) % NUM_ITEMS for offset in range(length)]
            target = (start + length) % NUM_ITEMS
            others = [(target + 3 + 2 * step) % NUM_ITEMS for step in range(num_candidates - 1)]
            candidates = others[: start % num_candidates] + [target] + others[start % num_candidates :]
            rows.append(
                {"history_item_ids": history, "target_item_id": target, "candidate_item_ids": candidates}
            )
    return rows


def tiny_config(model_type: str) -> dict:
    return {"model_type": model_type, "hidden_size": 16, "max_history_length": 4, "dropout": 0.0}


def quick_arguments(**overrides) -> RecommenderTrainingArguments:
    fields = {
        "num_epochs": 60,
        "batch_size": 16,
        "learning_rate": 0.02,
        "patience": 60,
        "show_progress": False,
    }
    return RecommenderTrainingArguments(**{**fields, **overrides})


@pytest.mark.parametrize("model_type", ["sasrec", "gru4rec", "caser"])
def test_each_model_learns_that_item_i_is_followed_by_i_plus_1(model_type):
    rows = successor_rows()
    arguments = quick_arguments(selection_metric="catalogue_mrr", patience=5)
    model, summary = train_recommender(tiny_config(model_type), rows, rows, arguments, num_items=NUM_ITEMS)
    metrics = evaluate_recommender(model, rows)
    assert metrics["candidate_hr@1"] == 1.0
    assert metrics["catalogue_mrr"] == 1.0  # the target ranks first among all items, in every row
    assert metrics == summary["validation"]
    assert not model.training


def test_training_is_deterministic_with_a_seed():
    rows = successor_rows()

    def train(seed):
        arguments = quick_arguments(num_epochs=3, seed=seed)
        return train_recommender(tiny_config("sasrec") | {"dropout": 0.3}, rows, rows, arguments, NUM_ITEMS)

    (first, first_summary), (again, again_summary) = train(0), train(0)
    assert all(torch.equal(first.state_dict()[name], again.state_dict()[name]) for name in first.state_dict())
    assert first_summary["log_history"] == again_summary["log_history"]
    other, _ = train(1)
    assert not torch.equal(first.item_embedding.weight, other.item_embedding.weight)


def test_early_stopping_keeps_the_best_epochs_weights(monkeypatch):
    scores = iter([0.5, 0.9, 0.1, 0.2, 0.95])
    states = []

    def scripted_evaluation(model, rows, batch_size):
        states.append({name: tensor.clone() for name, tensor in model.state_dict().items()})
        return dict.fromkeys(EVALUATION_METRICS, next(scores))

    monkeypatch.setattr(trainer_module, "evaluate_recommender", scripted_evaluation)
    rows = successor_rows()
    model, summary = train_recommender(
        "gru4rec", rows, rows, quick_arguments(num_epochs=10, patience=2), num_items=NUM_ITEMS
    )
    assert (summary["best_epoch"], summary["epochs_run"]) == (2, 4)
    assert [entry["candidate_hr@1"] for entry in summary["log_history"]] == [0.5, 0.9, 0.1, 0.2]
    assert all(torch.equal(model.state_dict()[name], states[1][name]) for name in states[1])
    assert not all(torch.equal(model.state_dict()[name], states[3][name]) for name in states[3])


def test_the_best_model_is_saved_atomically_and_loads(tmp_path):
    output_dir = tmp_path / "sasrec"
    output_dir.mkdir()
    (output_dir / "notes.txt").write_text("mine")
    rows = successor_rows()
    arguments = quick_arguments(num_epochs=2, output_dir=str(output_dir))
    model, summary = train_recommender("sasrec", rows, rows, arguments, num_items=NUM_ITEMS)
    assert sorted(os.listdir(tmp_path)) == ["sasrec"], "no temporary folder is left behind"
    assert {"config.json", "model.safetensors", "recommender_training.json", "notes.txt"} <= set(
        os.listdir(output_dir)
    )
    saved = json.loads((output_dir / "recommender_training.json").read_text())
    assert saved["best_epoch"] == summary["best_epoch"] and saved["validation"] == summary["validation"]
    loaded = load_recommender(output_dir)
    assert evaluate_recommender(loaded, rows) == summary["validation"]


def test_rows_come_from_a_datasets_dataset_or_dicts():
    rows = successor_rows()
    from_dataset = SequenceRows.from_rows(datasets.Dataset.from_list(rows), NUM_ITEMS)
    from_dicts = SequenceRows.from_rows(rows, NUM_ITEMS)
    for name in ("history_item_ids", "history_lengths", "target_item_ids", "candidate_item_ids"):
        assert torch.equal(getattr(from_dataset, name), getattr(from_dicts, name))
    assert from_dicts.history_item_ids.shape == (len(rows), 4)
    assert from_dicts.history_lengths[:4].tolist() == [1, 2, 3, 4]


def test_catalogue_metrics_need_no_candidates():
    rows = [{"history_item_ids": [1, 2], "target_item_id": 3}]
    model, _ = train_recommender(
        "caser", rows, rows, quick_arguments(num_epochs=1, selection_metric="catalogue_ndcg@10"), NUM_ITEMS
    )
    assert set(evaluate_recommender(model, rows)) == {"catalogue_hr@10", "catalogue_ndcg@10", "catalogue_mrr"}


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"history_item_ids": [1, 99], "target_item_id": 3}], "Unknown history item id 99 in row 0"),
        ([{"history_item_ids": [1], "target_item_id": -1}], "Unknown target item id -1 in row 0"),
        ([{"history_item_ids": [], "target_item_id": 2}], "Row 0 has an empty history"),
        ([{"history_item_ids": [1], "target": 2}], "Row 0 lacks history_item_ids or target_item_id"),
        ([], "No rows"),
    ],
)
def test_bad_rows_are_named(rows, message):
    with pytest.raises(ValueError, match=message):
        SequenceRows.from_rows(rows, NUM_ITEMS)


def test_bad_settings_are_named():
    rows = [{"history_item_ids": [1], "target_item_id": 2}]
    with pytest.raises(ValueError, match="Give num_items"):
        train_recommender("sasrec", rows, rows)
    with pytest.raises(ValueError, match="num_items=10 but the catalogue has 16"):
        train_recommender(
            trainer_module.recommender_config_from_dict({"model_type": "gru4rec", "num_items": 10}),
            rows,
            rows,
            num_items=NUM_ITEMS,
        )
    with pytest.raises(ValueError, match="needs candidate_item_ids"):
        train_recommender("sasrec", rows, rows, quick_arguments(), num_items=NUM_ITEMS)
    with pytest.raises(ValueError, match="Unknown selection_metric 'hr@1'"):
        RecommenderTrainingArguments(selection_metric="hr@1")


def write_prepared_folder(folder) -> None:
    """A folder as `llara prepare` writes it: one Parquet file per split and the item catalogue."""
    folder.mkdir()
    rows = successor_rows(num_candidates=4)
    for split in ("train", "validation", "test"):
        datasets.Dataset.from_list(rows).to_parquet(str(folder / f"{split}.parquet"))
    ItemCatalogue([f"Item {item}" for item in range(NUM_ITEMS)]).save(folder)


def test_cli_trains_saves_and_reports_every_split(tmp_path, capsys):
    write_prepared_folder(tmp_path / "prepared")
    output_dir = tmp_path / "gru4rec"
    code = main(
        ["train-recommender", "--model", "gru4rec", "--dataset", str(tmp_path / "prepared")]
        + ["--output-dir", str(output_dir), "--epochs", "2", "--hidden-size", "8", "--no-progress"]
    )
    assert code == 0
    summary = json.loads((output_dir / "recommender_training.json").read_text())
    assert set(summary["evaluation"]) == {"validation", "test"}
    assert summary["evaluation"]["validation"] == summary["validation"]
    assert load_recommender(output_dir).config.hidden_size == 8
    report = capsys.readouterr().out
    assert "gru4rec on" in report and "candidate_hr@1" in report and "test" in report


def test_cli_rejects_options_the_model_lacks(tmp_path, capsys):
    write_prepared_folder(tmp_path / "prepared")
    arguments = ["train-recommender", "--model", "gru4rec", "--dataset", str(tmp_path / "prepared")]
    assert main(arguments + ["--output-dir", str(tmp_path / "out"), "--num-attention-heads", "2"]) == 2
    assert "gru4rec has no --num-attention-heads option" in capsys.readouterr().err
    assert main(arguments + ["--output-dir", str(tmp_path / "out"), "--num-threads", "0"]) == 2
    assert main(arguments + ["--output-dir", str(tmp_path / "out"), "--selection-metric", "hr"]) == 1
    assert (
        main(["train-recommender", "--model", "caser", "--dataset", str(tmp_path)] + ["--output-dir", "x"])
        == 1
    )
    assert "lacks train.parquet" in capsys.readouterr().err


@pytest.mark.slow
def test_real_movielens_rows_fit_the_recommenders(tmp_path):
    if not os.path.isdir(DATA):
        pytest.skip(f"the LLaRA MovieLens release is not in {DATA}")
    from llara_hf.data import load_llara_dataset

    splits = load_llara_dataset("movielens", data_dir=DATA, trust_pickles=True, cache_dir=str(tmp_path))
    train = SequenceRows.from_rows(splits["train"], 1682)
    test = SequenceRows.from_rows(splits["test"], 1682)
    assert train.history_item_ids.shape == (80846, 10) and int(train.history_lengths.min()) >= 3
    assert test.candidate_item_ids.shape == (95, 20)
    model = trainer_module.recommender_from_config({"model_type": "sasrec", "num_items": 1682}).eval()
    metrics = evaluate_recommender(model, test)
    assert set(metrics) == set(EVALUATION_METRICS)
