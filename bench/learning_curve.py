"""Learning curve of LLaRA on the embedded default: ranking HR@1 against training rows, per curriculum.

    python bench/learning_curve.py --rows 300 1200 --curricula text linear hybrid
    python bench/learning_curve.py --rows 300 --curricula hybrid --learning-rate 2e-3 --epochs 2
    python bench/learning_curve.py --rows 300 --curricula hybrid --lora-rank 32 --lora-modules q_proj v_proj

Every run starts from the same backbone and the same trained SASRec (trained once, kept in the output
folder), trains on the first N rows of one seeded shuffle of the LLaRA MovieLens training split (so the
sets are nested), and is evaluated by likelihood ranking on the stored candidates of the validation and
test splits. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import replace

import torch

from llara_hf import LlaraProcessor, load_item_catalogue, load_llara_dataset, load_recommender
from llara_hf.configuration_llara import PROJECTOR_INITS
from llara_hf.data.locate import locate_data_dir
from llara_hf.evaluation import evaluate
from llara_hf.main_job import BUDGETS, fine_tune, sasrec_candidate_metrics
from llara_hf.recommenders import RecommenderTrainingArguments, train_recommender
from llara_hf.training.lora import PAPER_LORA_MODULES, paper_lora_config


def rerendered_prompts(processor: LlaraProcessor, row: dict) -> dict:
    """The row's stored prompts, rendered again by `processor` (which keeps only the latest history items)."""
    return {
        column: processor.render(
            row["history_item_ids"], row["candidate_item_ids"], hybrid=hybrid, template_id=row["template_id"]
        )[0]
        for column, hybrid in (("prompt", True), ("prompt_text_only", False))
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--backbone", default="default")
    parser.add_argument("--rows", type=int, nargs="+", default=[300, 1200])
    parser.add_argument("--curricula", nargs="+", default=["text", "linear", "hybrid"])
    parser.add_argument("--learning-rate", type=float, default=BUDGETS["cpu-hour"].learning_rate)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--fp32", action="store_true", help="train in float32 instead of bfloat16 autocast")
    parser.add_argument("--projector-init", choices=PROJECTOR_INITS, default="normal")
    parser.add_argument(
        "--max-history", type=int, default=None, help="keep only the latest N history items in the prompts"
    )
    parser.add_argument(
        "--lora-rank", type=int, default=8, help="alpha stays 4x the rank, as the paper's 8/32"
    )
    parser.add_argument(
        "--lora-modules", nargs="+", default=list(PAPER_LORA_MODULES), help="the language model's projections"
    )
    parser.add_argument("--eval-splits", nargs="+", default=["validation", "test"])
    parser.add_argument("--output-dir", default="runs/learning_curve")
    parser.add_argument("--seed", type=int, default=0, help="seeds training and the order of training rows")
    parser.add_argument("--data-seed", type=int, default=42, help="seeds the dataset's stored candidates")
    args = parser.parse_args()

    data_dir = args.data_dir or locate_data_dir("movielens")
    rows = load_llara_dataset("movielens", data_dir=data_dir, seed=args.data_seed, trust_pickles=True)
    catalogue = load_item_catalogue("movielens", data_dir=data_dir)
    sasrec_dir = os.path.join(args.output_dir, "sasrec")
    if os.path.isfile(os.path.join(sasrec_dir, "config.json")):
        recommender = load_recommender(sasrec_dir)
    else:
        recommender, _ = train_recommender(
            "sasrec",
            rows["train"],
            rows["validation"],
            RecommenderTrainingArguments(output_dir=sasrec_dir, seed=args.seed),
            num_items=catalogue.num_items,
        )
    history = {} if args.max_history is None else {"max_history_items": args.max_history}
    processor = LlaraProcessor.from_backbone(args.backbone, catalogue, templates="movie", **history)
    if history:
        rows = rows.map(lambda row: rerendered_prompts(processor, row))
    shuffled = rows["train"].shuffle(seed=args.seed)
    budget = replace(
        BUDGETS["cpu-hour"],
        learning_rate=args.learning_rate,
        llm_epochs=args.epochs,
        batch_size=args.batch_size,
        bf16=not args.fp32,
    )
    lora_targets = rf"model\.language_model\..*\.({'|'.join(args.lora_modules)})"

    results = [
        {"curriculum": "SASRec", "rows": len(rows["train"]), "train_seconds": None}
        | {
            split: sasrec_candidate_metrics(recommender, rows[split])["ranking_hr@1"]
            for split in args.eval_splits
        }
    ]
    for count in args.rows:
        for curriculum in args.curricula:
            name = f"{curriculum}-{count}"
            started = time.perf_counter()
            model, log = fine_tune(
                curriculum,
                budget,
                args.backbone,
                recommender,
                processor,
                shuffled.select(range(count)),
                os.path.join(args.output_dir, name),
                args.seed,
                lora_config=paper_lora_config(
                    r=args.lora_rank, lora_alpha=4 * args.lora_rank, target_modules=lora_targets
                ),
                projector_init=args.projector_init,
            )
            seconds = time.perf_counter() - started
            row = {"curriculum": curriculum, "rows": count, "train_seconds": round(seconds, 1)}
            for split in args.eval_splits:
                metrics = evaluate(
                    model,
                    processor,
                    rows[split],
                    "ranking",
                    output_dir=os.path.join(args.output_dir, name, split),
                )
                row[split] = metrics["hr@1"]
                row[f"{split}_ndcg@5"] = metrics["ndcg@5"]
            row["final_loss"] = next((entry["loss"] for entry in reversed(log) if "loss" in entry), None)
            results.append(row)
            print(json.dumps(row), flush=True)
            del model

    print(
        f"\nranking HR@1 on the stored candidates; lr {args.learning_rate}, {args.epochs} epoch(s), "
        f"projector init {args.projector_init}, batch {args.batch_size}, "
        f"LoRA r {args.lora_rank} on {' '.join(args.lora_modules)}, {args.max_history or 'all'} history items, "
        f"{'fp32' if args.fp32 else 'bf16'}, {torch.get_num_threads()} threads"
    )
    print(
        f"{'curriculum':<12}{'rows':>7}{'train s':>10}"
        + "".join(f"{split:>12}" for split in args.eval_splits)
    )
    for row in results:
        seconds = "-" if row["train_seconds"] is None else f"{row['train_seconds']:.0f}"
        cells = "".join(f"{row[split]:>12.4f}" for split in args.eval_splits)
        print(f"{row['curriculum']:<12}{row['rows']:>7}{seconds:>10}{cells}")
    report = {"machine": platform.platform(), "arguments": vars(args), "results": results}
    with open(os.path.join(args.output_dir, "learning_curve.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)


if __name__ == "__main__":
    main()
