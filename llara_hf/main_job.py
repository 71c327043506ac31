"""The main job: the whole method on MovieLens, from the raw split to one comparison table.

Stages: prepare the LLaRA MovieLens split; train SASRec; evaluate the backbone zero-shot; fine-tune it
text-only (the `text` curriculum, TALLRec-style) and as LLaRA (the paper's `linear` curriculum, hybrid
prompts with SASRec's item embeddings); evaluate everything on the test split with the paper's protocol
and with likelihood ranking. The budget decides how much the LLM trains.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass

import torch
from peft import LoraConfig

from .data import load_item_catalogue, load_llara_dataset
from .data.locate import locate_data_dir
from .data.synthetic import write_synthetic_interactions
from .evaluation import evaluate
from .hub import plot_training_curves
from .metrics import candidate_ranks, hit_ratio_at_k, ndcg_at_k
from .modeling_llara import LlaraForRecommendation
from .processing_llara import LlaraProcessor
from .recommenders import RecommenderTrainingArguments, SequenceRows, evaluate_recommender, train_recommender
from .training import CurriculumSFTConfig, CurriculumSFTTrainer, paper_lora_config

TABLE_COLUMNS = ("valid_ratio", "hr@1", "strict_hr@1", "ranking_hr@1", "ranking_ndcg@5")
RESULTS_FILE = "main_job.json"
SYNTHETIC = "synthetic"


@dataclass(frozen=True)
class Budget:
    """How much the main job trains: the LLM's rows, epochs and optimiser, and SASRec's epochs."""

    name: str
    llm_train_rows: int | None
    llm_epochs: float
    batch_size: int
    gradient_accumulation_steps: int
    learning_rate: float
    sasrec_epochs: int
    bf16: bool = True
    gradient_checkpointing: bool = False


BUDGETS = {
    # About 15 minutes on 2 CPU cores: shows every stage; the LLM barely trains.
    "quick": Budget("quick", 120, 1.0, 4, 1, 1e-3, 30),
    # About 1.5 hours on 2 CPU cores (about 1 s per training row and trainer): the quality-goal budget.
    "cpu-hour": Budget("cpu-hour", 2400, 1.0, 4, 1, 1e-3, 200),
    # The paper's scale, for a GPU: every training row, 5 epochs, batch 8 x 16.
    "full": Budget("full", None, 5.0, 8, 16, 8e-4, 200, gradient_checkpointing=True),
}


def sasrec_candidate_metrics(recommender, rows) -> dict[str, float]:
    """SASRec on the stored candidates, in the table's terms: every answer is valid by construction."""
    sequences = SequenceRows.from_rows(rows, recommender.config.num_items).to(recommender.device)
    with torch.no_grad():
        logits = recommender(sequences.history_item_ids, sequences.history_lengths).logits
    ranks = candidate_ranks(logits, sequences.candidate_item_ids, sequences.target_item_ids)
    hit = hit_ratio_at_k(ranks, 1)
    return {
        "valid_ratio": 1.0,
        "hr@1": hit,
        "strict_hr@1": hit,
        "ranking_hr@1": hit,
        "ranking_ndcg@5": ndcg_at_k(ranks, 5),
        **evaluate_recommender(recommender, rows),
    }


def llm_metrics(model, processor, rows, output_dir: str, batch_size: int) -> dict[str, float]:
    """The paper's protocol and likelihood ranking of one model on the same rows."""
    paper = evaluate(
        model, processor, rows, "paper", batch_size=batch_size, output_dir=os.path.join(output_dir, "paper")
    )
    ranking = evaluate(
        model,
        processor,
        rows,
        "ranking",
        batch_size=batch_size,
        output_dir=os.path.join(output_dir, "ranking"),
    )
    return {**paper, **{f"ranking_{name}": value for name, value in ranking.items()}}


def fine_tune(
    curriculum: str,
    budget: Budget,
    backbone: str,
    recommender,
    processor: LlaraProcessor,
    train_rows,
    output_dir: str,
    seed: int,
    backbone_kwargs: dict | None = None,
    lora_config: LoraConfig | None = None,
    **config_kwargs,
) -> tuple[LlaraForRecommendation, list[dict]]:
    """LoRA fine-tuning with one curriculum; returns the trained model (LoRA merged) and its log.

    `lora_config` defaults to `paper_lora_config()`; `config_kwargs` go to
    `LlaraForRecommendation.from_backbone` (e.g. `projector_init="token_norm"`).
    """
    model = LlaraForRecommendation.from_backbone(
        backbone,
        recommender=recommender,
        tokenizer=processor.tokenizer,
        backbone_kwargs=backbone_kwargs,
        **config_kwargs,
    )
    effective_batch = budget.batch_size * budget.gradient_accumulation_steps
    args = CurriculumSFTConfig(
        output_dir=output_dir,
        curriculum=curriculum,
        num_train_epochs=budget.llm_epochs,
        per_device_train_batch_size=budget.batch_size,
        gradient_accumulation_steps=budget.gradient_accumulation_steps,
        learning_rate=budget.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=0.05,
        logging_steps=max(1, round(len(train_rows) * budget.llm_epochs / effective_batch / 20)),
        save_strategy="no",
        eval_strategy="no",
        bf16=budget.bf16,
        gradient_checkpointing=budget.gradient_checkpointing,
        use_cpu=not torch.cuda.is_available(),
        report_to=[],
        seed=seed,
        recommendation_eval_protocol="none",
    )
    trainer = CurriculumSFTTrainer(
        model=model,
        args=args,
        processor=processor,
        train_dataset=train_rows,
        peft_config=lora_config or paper_lora_config(),
    )
    trainer.train()
    trainer.save_model(output_dir)
    merged = trainer.model.merge_and_unload()
    merged.eval()
    return merged, trainer.state.log_history


def format_table(results: dict[str, dict[str, float]]) -> str:
    """The comparison as a fixed-width text table."""
    header = f"{'method':<28}" + "".join(f"{column:>16}" for column in TABLE_COLUMNS)
    lines = [header, "-" * len(header)]
    for method, metrics in results.items():
        cells = "".join(
            f"{metrics[column]:>16.4f}" if column in metrics else f"{'-':>16}" for column in TABLE_COLUMNS
        )
        lines.append(f"{method:<28}{cells}")
    return "\n".join(lines)


def load_job_data(dataset: str, data_dir: str | None, output_dir: str, data_seed: int):
    """The rows, the catalogue and the folder: MovieLens (found locally or downloaded) or a synthetic log."""
    if dataset == SYNTHETIC:
        data_dir = write_synthetic_interactions(os.path.join(output_dir, "synthetic_data"), seed=data_seed)
        name = "interactions"
    elif dataset == "movielens":
        data_dir = data_dir or locate_data_dir("movielens")
        name = "movielens"
    else:
        raise ValueError(f"The main job runs on 'movielens' or '{SYNTHETIC}', not {dataset!r}.")
    # The LLaRA release's split files are pandas pickles: this job trusts those files (and only them).
    rows = load_llara_dataset(name, data_dir=data_dir, seed=data_seed, trust_pickles=True)
    return rows, load_item_catalogue(name, data_dir=data_dir), data_dir


def run_main_job(
    budget: str | Budget = "quick",
    data_dir: str | None = None,
    output_dir: str = "runs/main",
    backbone: str = "default",
    seed: int = 0,
    data_seed: int = 42,
    eval_batch_size: int = 8,
    dataset: str = "movielens",
    backbone_kwargs: dict | None = None,
) -> dict:
    """Run every stage, print the table, and write `main_job.json` and `training_curves.png`.

    `seed` seeds training; `data_seed` the dataset's stored candidates (42, as `load_llara_dataset`).
    `dataset="synthetic"` with a small random backbone (`backbone_kwargs`) is the smoke version.
    """
    if isinstance(budget, str):
        if budget not in BUDGETS:
            raise ValueError(f"Unknown budget {budget!r}: use one of {list(BUDGETS)}.")
        budget = BUDGETS[budget]
    os.makedirs(output_dir, exist_ok=True)
    torch.manual_seed(seed)
    timings, results = {}, {}

    def stage(name: str):
        timings[name] = time.perf_counter()
        print(f"\n== {name} ==", flush=True)

    def done(name: str):
        timings[name] = round(time.perf_counter() - timings[name], 1)

    stage("prepare data")
    rows, catalogue, data_dir = load_job_data(dataset, data_dir, output_dir, data_seed)
    train_rows = rows["train"].shuffle(seed=seed)
    if budget.llm_train_rows is not None:
        train_rows = train_rows.select(range(min(budget.llm_train_rows, len(train_rows))))
    test_rows = rows["test"]
    done("prepare data")

    stage("train SASRec")
    recommender, sasrec_summary = train_recommender(
        "sasrec",
        rows["train"],
        rows["validation"],
        RecommenderTrainingArguments(
            output_dir=os.path.join(output_dir, "sasrec"), seed=seed, num_epochs=budget.sasrec_epochs
        ),
        num_items=catalogue.num_items,
    )
    results["SASRec"] = sasrec_candidate_metrics(recommender, test_rows)
    done("train SASRec")

    processor = LlaraProcessor.from_backbone(backbone, catalogue, templates="movie")

    stage("zero-shot LLM")
    zero_shot = LlaraForRecommendation.from_backbone(
        backbone, recommender=recommender, tokenizer=processor.tokenizer, backbone_kwargs=backbone_kwargs
    )
    results["zero-shot LLM"] = llm_metrics(
        zero_shot.eval(), processor, test_rows, os.path.join(output_dir, "zero_shot"), eval_batch_size
    )
    del zero_shot
    done("zero-shot LLM")

    logs = {}
    for method, curriculum, folder in (
        ("text-only fine-tuning", "text", "text_only"),
        ("LLaRA (linear curriculum)", "linear", "llara"),
    ):
        stage(f"train {method}")
        model, logs[method] = fine_tune(
            curriculum,
            budget,
            backbone,
            recommender,
            processor,
            train_rows,
            os.path.join(output_dir, folder),
            seed,
            backbone_kwargs,
        )
        done(f"train {method}")
        stage(f"evaluate {method}")
        results[method] = llm_metrics(
            model, processor, test_rows, os.path.join(output_dir, folder), eval_batch_size
        )
        done(f"evaluate {method}")
        if curriculum == "linear":
            model.save_pretrained(os.path.join(output_dir, "llara_model"))
            processor.save_pretrained(os.path.join(output_dir, "llara_model"))
        del model

    table = format_table(results)
    print(f"\n{dataset} test split ({len(test_rows)} rows), budget {budget.name}:\n{table}")
    print("stage seconds: " + ", ".join(f"{name} {seconds}" for name, seconds in timings.items()))
    plot = plot_training_curves(logs, os.path.join(output_dir, "training_curves.png"))
    report = {
        "budget": asdict(budget),
        "data_dir": data_dir,
        "test_rows": len(test_rows),
        "train_rows": len(train_rows),
        "results": results,
        "stage_seconds": timings,
        "sasrec": {key: value for key, value in sasrec_summary.items() if key != "log_history"},
        "training_logs": logs,
        "plot": plot,
    }
    path = os.path.join(output_dir, RESULTS_FILE)
    with open(f"{path}.tmp", "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    os.replace(f"{path}.tmp", path)
    return report


__all__ = ["BUDGETS", "Budget", "format_table", "run_main_job"]
