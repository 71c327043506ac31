"""Pushing a trained LLaRA to the local test Hub, then loading it by repo id in fresh processes.

One tiny model is trained for a few steps with LoRA, pushed as an adapter (with its base) and merged, and
two new Python processes load both repos every way a user can: one through llara_hf, one that never
imports it (`trust_remote_code=True`). Logits and `recommend()` must match the trained model exactly.
"""

import copy
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from huggingface_hub import HfApi, ModelCard, hf_hub_download, snapshot_download
from tiny_models import synthetic_rows, tiny_llara, tiny_processor

from llara_hf import LlaraForRecommendation
from llara_hf.evaluation import load_llara_folder
from llara_hf.hub import LlaraPushResult, publish_llara_base, push_llara_to_hub
from llara_hf.training import CurriculumSFTConfig, CurriculumSFTTrainer, paper_lora_config

HISTORY, CANDIDATES = [0, 1, 2], [3, 4, 5, 6, 7, 8]
METRICS = {"paper": {"hr@1": 0.25, "valid_ratio": 1.0}, "ranking": {"hr@1": 0.5}}
ANCHORS = {"paper": {"hr@1": 0.4421}}
BACKBONE_ID = "llara-tester/tiny-llama"

# Loads every repo of `spec` ({label: [loader, repo_id]}) and prints, per label, whether the logits equal
# the saved ones and what `recommend` returns. Argument 2 is "no-llara" for the process without llara_hf.
LOAD_SCRIPT = textwrap.dedent(
    """
    import json, sys, torch
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM

    spec, without_llara = json.loads(sys.argv[1]), sys.argv[2] == "no-llara"
    loaders = {
        "auto": lambda repo: AutoModelForCausalLM.from_pretrained(repo, trust_remote_code=True),
        "auto_peft": lambda repo: AutoPeftModelForCausalLM.from_pretrained(repo, trust_remote_code=True),
    }
    if not without_llara:
        from llara_hf import LlaraForRecommendation

        loaders["llara"] = LlaraForRecommendation.from_pretrained
    results = {}
    for label, (loader, repo_id, expected_path) in spec.items():
        model = loaders[loader](repo_id).eval()
        expected = torch.load(expected_path)
        with torch.no_grad():
            logits = model(**expected["batch"]).logits
        results[label] = {
            "class": type(model).__name__,
            "logits_equal": torch.equal(logits, expected["logits"]),
            "recommend": [list(entry) for entry in model.recommend(expected["history"], expected["candidates"])],
        }
    results["llara_hf_imported"] = "llara_hf" in sys.modules
    print("RESULTS", json.dumps(results))
    """
)


def train_tiny_llara(output_dir, max_steps=4, **overrides):
    processor = tiny_processor()
    settings = dict(
        output_dir=str(output_dir),
        curriculum="linear",
        max_steps=max_steps,
        per_device_train_batch_size=4,
        learning_rate=1e-2,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        bf16=False,
        use_cpu=True,
        seed=0,
        recommendation_eval_protocol="none",
    )
    settings.update(overrides)
    trainer = CurriculumSFTTrainer(
        model=tiny_llara(processor, seed=0),
        args=CurriculumSFTConfig(**settings),
        processor=processor,
        train_dataset=synthetic_rows(16),
        peft_config=paper_lora_config(),
    )
    trainer.train()
    trainer.model.eval()
    return trainer


def expected_outputs(model, processor, path):
    """Save what a loaded copy must reproduce: logits on a hybrid batch and `recommend`'s ranking."""
    batch = processor([HISTORY, [4, 5]], [CANDIDATES, [9, 10, 11, 0]], target_item_ids=[5, 11])
    with torch.no_grad():
        logits = model(**batch).logits
    ranking = [list(entry) for entry in model.recommend(HISTORY, CANDIDATES, processor=processor)]
    torch.save({"batch": dict(batch), "logits": logits, "history": HISTORY, "candidates": CANDIDATES}, path)
    return ranking


def load_in_fresh_process(spec, without_llara, environment, tmp_path):
    """Run LOAD_SCRIPT with empty caches, so everything comes from the Hub by repo id."""
    tmp_path.mkdir(parents=True)
    environment = {
        **environment,
        "HF_HUB_CACHE": str(tmp_path / "hub-cache"),
        "HF_MODULES_CACHE": str(tmp_path / "modules"),
    }
    result = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, json.dumps(spec), "no-llara" if without_llara else "llara"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.rsplit("RESULTS ", 1)[1])


@pytest.fixture(scope="module")
def pushed(hub, tmp_path_factory):
    """The trained model pushed as an adapter and merged, and what fresh processes load from them."""
    folder = tmp_path_factory.mktemp("pushed")
    trainer = train_tiny_llara(folder / "run")
    model, processor = trainer.model, trainer.processor
    card_options = dict(
        log_history=trainer.state.log_history,
        curriculum=trainer.curriculum_state(),
        metrics=METRICS,
        anchors=ANCHORS,
        datasets=["llara-tester/tiny-rows"],
        backbone_id=BACKBONE_ID,
    )
    adapter = push_llara_to_hub(model, processor, f"{hub.user}/hub-push-adapter", **card_options)
    merged = push_llara_to_hub(model, processor, f"{hub.user}/hub-push-merged", merged=True, **card_options)

    expected = {"adapter": expected_outputs(model, processor, folder / "adapter.pt")}
    # The merged reference is the merged weights as saved: an in-memory copy of a model TRL trained keeps
    # TRL's patched `forward`, which still calls the original (unmerged) model.
    copy.deepcopy(model).merge_and_unload().save_pretrained(folder / "merged")
    merged_reference = LlaraForRecommendation.from_pretrained(folder / "merged").eval()
    expected["merged"] = expected_outputs(merged_reference, processor, folder / "merged.pt")
    with_llara = {
        "adapter, LlaraForRecommendation": ["llara", adapter.repo_id, str(folder / "adapter.pt")],
        "adapter, AutoPeftModelForCausalLM": ["auto_peft", adapter.repo_id, str(folder / "adapter.pt")],
        "merged, LlaraForRecommendation": ["llara", merged.repo_id, str(folder / "merged.pt")],
    }
    without_llara = {
        "adapter, AutoModelForCausalLM": ["auto", adapter.repo_id, str(folder / "adapter.pt")],
        "adapter, AutoPeftModelForCausalLM (remote code)": [
            "auto_peft",
            adapter.repo_id,
            str(folder / "adapter.pt"),
        ],
        "merged, AutoModelForCausalLM": ["auto", merged.repo_id, str(folder / "merged.pt")],
    }
    environment = {**os.environ, **hub.environment(folder / "home")}
    loaded = load_in_fresh_process(with_llara, False, environment, folder / "with-llara")
    loaded.update(load_in_fresh_process(without_llara, True, environment, folder / "without-llara"))
    return {"trainer": trainer, "adapter": adapter, "merged": merged, "expected": expected, "loaded": loaded}


def test_adapter_repo_holds_adapter_processor_card_and_names_its_pushed_base(pushed):
    adapter: LlaraPushResult = pushed["adapter"]
    api = HfApi()

    assert adapter.kind == "adapter" and adapter.base_repo_id == f"{adapter.repo_id}-base"
    assert set(api.list_repo_files(adapter.repo_id)) == {
        ".gitattributes",
        "README.md",
        "adapter_config.json",
        "adapter_model.safetensors",
        "curriculum.json",
        "item_catalogue.json",
        "llara_processor.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "training_curves.png",
    }
    curriculum = json.loads(open(hf_hub_download(adapter.repo_id, "curriculum.json")).read())
    assert curriculum == pushed["trainer"].curriculum_state()
    adapter_config = json.loads(open(hf_hub_download(adapter.repo_id, "adapter_config.json")).read())
    assert adapter_config["base_model_name_or_path"] == adapter.base_repo_id
    assert adapter_config["revision"] == adapter.base_commit == api.repo_info(adapter.base_repo_id).sha
    assert adapter_config["modules_to_save"] == ["projector"]
    base_files = set(api.list_repo_files(adapter.base_repo_id))
    assert {"model.safetensors", "config.json", "modeling_llara.py", "recommendation.py"} <= base_files
    assert {"item_catalogue.json", "llara_processor.json", "tokenizer.json", "README.md"} <= base_files
    base_card = ModelCard.load(adapter.base_repo_id)
    assert base_card.data.base_model == BACKBONE_ID and "**Do not use it alone**" in base_card.text


def test_merged_repo_holds_every_weight_code_and_processor(pushed):
    merged: LlaraPushResult = pushed["merged"]
    files = set(HfApi().list_repo_files(merged.repo_id))

    assert merged.kind == "full" and merged.base_repo_id is None
    assert {"model.safetensors", "config.json", "generation_config.json", "modeling_llara.py"} <= files
    assert {"item_catalogue.json", "llara_processor.json", "tokenizer.json", "training_curves.png"} <= files
    assert not any(name.startswith("adapter_") for name in files)


@pytest.mark.parametrize("repo", ["adapter", "merged"])
def test_pushed_card_parses_with_metrics_plot_and_metadata(pushed, repo):
    result: LlaraPushResult = pushed[repo]
    card = ModelCard.load(result.repo_id)

    assert card.data.library_name == ("peft" if repo == "adapter" else "transformers")
    assert card.data.base_model == (result.base_repo_id if repo == "adapter" else BACKBONE_ID)
    assert card.data.datasets == ["llara-tester/tiny-rows"]
    assert {"llara", "recommendation", "custom_code"} <= set(card.data.tags)
    assert (
        "| paper | hr@1 | 0.2500 | 0.4421 |" in card.text and "| ranking | hr@1 | 0.5000 | – |" in card.text
    )
    assert "](training_curves.png)" in card.text
    png = open(hf_hub_download(result.repo_id, "training_curves.png"), "rb").read()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    hybrid_steps = pushed["trainer"].curriculum_state()["hybrid_steps"]
    assert f"{hybrid_steps.count('1')} of 4 optimisation steps used hybrid prompts" in card.text
    assert f'from_pretrained("{result.repo_id}", trust_remote_code=True)' in card.text


def test_fresh_processes_load_both_repos_every_way_with_identical_logits(pushed):
    loaded = pushed["loaded"]

    assert loaded.pop("llara_hf_imported") is False
    assert len(loaded) == 6
    for label, result in loaded.items():
        assert result["logits_equal"], label
    assert loaded["adapter, AutoPeftModelForCausalLM"]["class"] == "PeftModelForCausalLM"
    assert loaded["adapter, LlaraForRecommendation"]["class"] == "LlaraForRecommendation"
    assert loaded["merged, AutoModelForCausalLM"]["class"] == "LlaraForRecommendation"


def test_fresh_processes_recommend_exactly_what_the_trained_model_does(pushed):
    expected = pushed["expected"]

    assert sorted(entry[0] for entry in expected["adapter"]) == CANDIDATES
    for label, result in pushed["loaded"].items():
        if label != "llara_hf_imported":
            assert result["recommend"] == expected[label.split(",")[0]], label


def test_an_adapter_whose_base_is_on_the_hub_reuses_it(pushed, hub_repo_id):
    adapter: LlaraPushResult = pushed["adapter"]
    model, processor = load_llara_folder(snapshot_download(adapter.repo_id))

    result = push_llara_to_hub(model, processor, hub_repo_id, backbone_id=BACKBONE_ID)

    assert (result.base_repo_id, result.base_commit) == (adapter.base_repo_id, adapter.base_commit)
    assert not HfApi().repo_exists(f"{hub_repo_id}-base")


def test_publishing_the_base_before_training_makes_saved_adapters_name_it(hub_repo_id, tmp_path):
    processor = tiny_processor()
    model = tiny_llara(processor)
    peft_config = paper_lora_config()

    repo_id, revision = publish_llara_base(model, processor, f"{hub_repo_id}-base", peft_config=peft_config)

    assert model.name_or_path == repo_id == f"{hub_repo_id}-base"
    assert (peft_config.base_model_name_or_path, peft_config.revision) == (repo_id, revision)
    assert HfApi().repo_info(repo_id).sha == revision
    again = publish_llara_base(model, processor, f"{hub_repo_id}-other-base")
    assert again == (repo_id, None) and not HfApi().repo_exists(f"{hub_repo_id}-other-base")
