"""`llara prepare`: Parquet per split, the item catalogue and a summary; clear errors that overwrite nothing."""

import json

import pandas as pd
from test_data_builder import write_tables
from test_data_layouts import write_lastfm_release

from llara_hf.cli import main
from llara_hf.data import load_llara_dataset
from llara_hf.item_catalogue import ItemCatalogue


def test_prepare_writes_parquet_per_split_and_the_catalogue(tmp_path):
    folder, output = write_tables(tmp_path / "tables"), tmp_path / "prepared"
    code = main(
        ["prepare", "interactions", "--data-dir", folder, "--output-dir", str(output), "--seed", "3"]
        + ["--num-candidates", "8", "--cache-dir", str(tmp_path / "cache")]
    )
    assert code == 0
    expected = load_llara_dataset(
        "interactions", data_dir=folder, seed=3, num_candidates=8, cache_dir=str(tmp_path / "cache")
    )
    for split in ("train", "validation", "test"):
        written = pd.read_parquet(output / f"{split}.parquet")
        assert list(written.columns) == list(expected[split].features)
        assert written["candidate_item_ids"].map(list).tolist() == expected[split]["candidate_item_ids"]
    assert ItemCatalogue.load(output).source_ids[:2] == ["100", "103"]
    summary = json.loads((output / "prepare_summary.json").read_text())
    assert summary["num_rows"] == {split: expected[split].num_rows for split in expected}
    assert summary["layout"] == "interactions" and summary["config"]["seed"] == 3
    assert summary["config"]["num_candidates"] == 8 and summary["config"]["min_history"] == 3


def test_prepare_refuses_pickles_without_the_flag_and_keeps_earlier_output(tmp_path, capsys):
    folder, output = write_lastfm_release(tmp_path / "lastfm"), tmp_path / "prepared"
    output.mkdir()
    (output / "train.parquet").write_bytes(b"earlier work")
    code = main(["prepare", "lastfm", "--data-dir", folder, "--output-dir", str(output)])
    assert code == 1
    assert "--trust-pickles" in capsys.readouterr().err
    assert (output / "train.parquet").read_bytes() == b"earlier work"
    code = main(
        ["prepare", "lastfm", "--data-dir", folder, "--output-dir", str(output), "--trust-pickles"]
        + ["--num-candidates", "5", "--cache-dir", str(tmp_path / "cache")]
    )
    assert code == 0
    assert sorted(path.name for path in output.iterdir()) == [
        "item_catalogue.json",
        "prepare_summary.json",
        "train.parquet",
        "validation.parquet",
    ]
