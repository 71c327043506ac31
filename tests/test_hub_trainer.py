"""From training to the Hub: `llara push` on a run's output_dir, and the trainer's own `push_to_hub=True`."""

import json
import shutil

import pytest
import torch
from huggingface_hub import HfApi, ModelCard, hf_hub_download
from peft import AutoPeftModelForCausalLM
from tiny_models import synthetic_rows, tiny_llara, tiny_processor
from trl import SFTTrainer

from llara_hf import LlaraForRecommendation
from llara_hf.cli import main
from llara_hf.training import CurriculumSFTConfig, CurriculumSFTTrainer, paper_lora_config

TRAINING = dict(
    max_steps=2,
    per_device_train_batch_size=4,
    learning_rate=1e-2,
    logging_steps=1,
    report_to=[],
    bf16=False,
    use_cpu=True,
    seed=0,
    recommendation_eval_protocol="none",
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A LoRA run whose base was saved to a folder first, saved like `llara train` saves it."""
    folder = tmp_path_factory.mktemp("run")
    processor = tiny_processor()
    tiny_llara(processor).save_pretrained(folder / "base")
    processor.save_pretrained(folder / "base")
    args = CurriculumSFTConfig(
        output_dir=str(folder / "out"), save_strategy="steps", save_steps=2, curriculum="step", **TRAINING
    )
    trainer = CurriculumSFTTrainer(
        model=LlaraForRecommendation.from_pretrained(folder / "base"),
        args=args,
        processor=processor,
        train_dataset=synthetic_rows(16),
        peft_config=paper_lora_config(),
    )
    trainer.train()
    trainer.save_model(args.output_dir)
    trainer.model.eval()
    return folder, trainer


def test_llara_push_publishes_a_run_as_an_adapter_on_its_pushed_base(run, hub_repo_id, tmp_path):
    folder, trainer = run
    (tmp_path / "metrics.json").write_text(json.dumps({"ranking": {"hr@1": 0.5}}))

    command = ["push", "--model", str(folder / "out"), "--repo-id", hub_repo_id, "--datasets", "someone/rows"]
    assert main([*command, "--metrics", str(tmp_path / "metrics.json"), "--backbone-id", "someone/llm"]) == 0

    adapter_config = json.loads(open(hf_hub_download(hub_repo_id, "adapter_config.json")).read())
    assert adapter_config["base_model_name_or_path"] == f"{hub_repo_id}-base"
    card = ModelCard.load(hub_repo_id)
    assert card.data.base_model == f"{hub_repo_id}-base" and card.data.datasets == ["someone/rows"]
    assert "| ranking | hr@1 | 0.5000 | – |" in card.text
    assert "Curriculum: `step` (hybrid after 0.5 of the run), seed 0: 1 of 2 optimisation steps" in card.text
    assert "training_curves.png" in HfApi().list_repo_files(hub_repo_id)
    loaded = AutoPeftModelForCausalLM.from_pretrained(hub_repo_id).eval()
    batch = trainer.processor([[0, 1, 2]], [[3, 4, 5, 6]], target_item_ids=[4])
    with torch.no_grad():
        assert torch.equal(loaded(**batch).logits, trainer.model(**batch).logits)


def test_llara_push_merged_sends_one_full_model(run, hub_repo_id):
    folder, _ = run
    assert main(["push", "--model", str(folder / "out"), "--repo-id", hub_repo_id, "--merged"]) == 0

    files = set(HfApi().list_repo_files(hub_repo_id))
    assert {"model.safetensors", "modeling_llara.py", "item_catalogue.json"} <= files
    assert not HfApi().repo_exists(f"{hub_repo_id}-base")


def test_llara_push_asks_for_the_base_of_an_adapter_that_names_none(run, tmp_path, capsys):
    folder, _ = run
    adapter = shutil.copytree(folder / "out", tmp_path / "adapter")
    config = json.loads((adapter / "adapter_config.json").read_text())
    (adapter / "adapter_config.json").write_text(json.dumps({**config, "base_model_name_or_path": None}))

    assert main(["push", "--model", str(adapter), "--repo-id", "someone/model"]) == 1
    assert "names no base model" in capsys.readouterr().err
    assert main(["push", "--model", str(adapter), "--repo-id", "someone/model", "--token", "hf_bad"]) == 1
    assert "names no base model" in capsys.readouterr().err


def test_trainer_push_to_hub_publishes_the_llara_card_on_a_real_base(hub_repo_id, tmp_path):
    processor = tiny_processor()
    args = CurriculumSFTConfig(
        output_dir=str(tmp_path / "out"),
        save_strategy="no",
        push_to_hub=True,
        hub_model_id=hub_repo_id,
        **TRAINING,
    )
    trainer = CurriculumSFTTrainer(
        model=tiny_llara(processor),
        args=args,
        processor=processor,
        train_dataset=synthetic_rows(16),
        peft_config=paper_lora_config(),
    )
    trainer.train()
    trainer.push_to_hub(dataset_name="someone/rows")

    assert CurriculumSFTTrainer.create_model_card is not SFTTrainer.create_model_card
    card = ModelCard.load(hub_repo_id)
    assert card.data.library_name == "peft" and "llara" in card.data.tags
    assert card.data.base_model == f"{hub_repo_id}-base" and card.data.datasets == ["someone/rows"]
    assert "## Evaluation" in card.text and "](training_curves.png)" in card.text
    adapter_config = json.loads(open(hf_hub_download(hub_repo_id, "adapter_config.json")).read())
    assert adapter_config["base_model_name_or_path"] == f"{hub_repo_id}-base"
    assert HfApi().repo_exists(f"{hub_repo_id}-base")
