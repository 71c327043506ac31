"""`llara train-recommender`: train SASRec, GRU4Rec or Caser on a LLaRA dataset and save the best model."""

from __future__ import annotations

import argparse
import os
import sys

MODEL_TYPES = ("sasrec", "gru4rec", "caser")
# argparse dest -> config field, passed on only when given.
CONFIG_OPTIONS = (
    "hidden_size",
    "max_history_length",
    "num_hidden_layers",
    "num_attention_heads",
    "dropout",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-recommender",
        help="Train the sequential recommender whose item embeddings LLaRA uses (SASRec, GRU4Rec, Caser).",
        description="Train on the dataset's train rows with cross-entropy over all items, stop early on "
        "validation, save the best model with save_pretrained into --output-dir and report HR@1 over the "
        "stored candidates and full-catalogue HR@10/NDCG@10 on every evaluation split.",
    )
    parser.add_argument("--model", required=True, choices=MODEL_TYPES, help="recommender architecture")
    parser.add_argument(
        "--dataset",
        required=True,
        help="dataset config (movielens, lastfm, steam, interactions) or a folder written by `llara prepare`",
    )
    parser.add_argument("--data-dir", help="source folder for a dataset config, as for `llara prepare`")
    parser.add_argument("--output-dir", required=True, help="where the trained recommender is saved")
    parser.add_argument("--seed", type=int, default=0, help="seeds the initialisation, dropout and row order")
    parser.add_argument(
        "--data-seed",
        type=int,
        default=42,
        help="seed of the dataset's split and stored candidates; use the one the LLM is evaluated with (42)",
    )
    parser.add_argument(
        "--trust-pickles",
        action="store_true",
        help="allow unpickling the LLaRA release's *.df files (a pickle runs code: only for files you trust)",
    )
    parser.add_argument("--cache-dir", help="datasets cache folder (default: the Hugging Face cache)")
    parser.add_argument("--epochs", type=int, default=100, help="most passes over the training rows")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument(
        "--patience", type=int, default=5, help="epochs without validation gain before stopping"
    )
    parser.add_argument(
        "--selection-metric",
        default="candidate_hr@1",
        help="validation metric to maximise: candidate_hr@1, candidate_mrr, catalogue_hr@10, catalogue_ndcg@10, "
        "catalogue_mrr",
    )
    parser.add_argument("--hidden-size", type=int, help="item embedding size (64)")
    parser.add_argument("--max-history-length", type=int, help="most recent history items used (10)")
    parser.add_argument("--num-hidden-layers", type=int, help="SASRec blocks or GRU layers")
    parser.add_argument("--num-attention-heads", type=int, help="SASRec attention heads")
    parser.add_argument("--dropout", type=float, help="dropout rate")
    parser.add_argument(
        "--num-threads",
        type=int,
        help="CPU threads for torch (default: all cores); 1 is much faster on a machine other jobs keep busy",
    )
    parser.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def _load_splits(args: argparse.Namespace):
    """The dataset's splits and its number of items, from a `llara prepare` folder or a dataset config."""
    from datasets import load_dataset

    from llara_hf.data import load_item_catalogue, load_llara_dataset
    from llara_hf.item_catalogue import ItemCatalogue

    if os.path.isdir(args.dataset):
        files = {
            split: os.path.join(args.dataset, f"{split}.parquet")
            for split in ("train", "validation", "test")
            if os.path.isfile(os.path.join(args.dataset, f"{split}.parquet"))
        }
        if "train" not in files or "validation" not in files:
            raise FileNotFoundError(
                f"{args.dataset} lacks train.parquet or validation.parquet: write it with `llara prepare`."
            )
        splits = load_dataset("parquet", data_files=files, cache_dir=args.cache_dir)
        return splits, ItemCatalogue.load(args.dataset).num_items
    catalogue = load_item_catalogue(args.dataset, data_dir=args.data_dir)
    splits = load_llara_dataset(
        args.dataset,
        data_dir=args.data_dir,
        seed=args.data_seed,
        trust_pickles=args.trust_pickles,
        cache_dir=args.cache_dir,
    )
    return splits, catalogue.num_items


def run(args: argparse.Namespace) -> int:
    from dataclasses import fields

    import torch

    from llara_hf.configuration_recommenders import RECOMMENDER_CONFIG_CLASSES
    from llara_hf.recommenders import (
        EVALUATION_METRICS,
        RecommenderTrainingArguments,
        evaluate_recommender,
        train_recommender,
        write_training_summary,
    )

    config_fields = {field.name for field in fields(RECOMMENDER_CONFIG_CLASSES[args.model])}
    config = {"model_type": args.model}
    for option in CONFIG_OPTIONS:
        if getattr(args, option) is not None:
            if option not in config_fields:
                flag = "--" + option.replace("_", "-")
                print(f"llara train-recommender: {args.model} has no {flag} option.", file=sys.stderr)
                return 2
            config[option] = getattr(args, option)
    if args.num_threads is not None:
        if args.num_threads < 1:
            print(
                f"llara train-recommender: --num-threads must be at least 1, got {args.num_threads}.",
                file=sys.stderr,
            )
            return 2
        torch.set_num_threads(args.num_threads)
    try:
        training_arguments = RecommenderTrainingArguments(
            output_dir=args.output_dir,
            seed=args.seed,
            num_epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            weight_decay=args.weight_decay,
            patience=args.patience,
            selection_metric=args.selection_metric,
            show_progress=not args.no_progress,
            device=args.device,
        )
        splits, num_items = _load_splits(args)
        model, summary = train_recommender(
            config, splits["train"], splits["validation"], training_arguments, num_items=num_items
        )
    except (FileNotFoundError, PermissionError, ValueError) as error:
        print(f"llara train-recommender: {error}", file=sys.stderr)
        return 1
    summary["evaluation"] = {
        split: evaluate_recommender(model, splits[split]) for split in splits if split != "train"
    }
    write_training_summary(args.output_dir, summary)
    print(
        f"{args.model} on {args.dataset}: best epoch {summary['best_epoch']} of {summary['epochs_run']}, "
        f"trained in {summary['train_seconds']:.1f}s -> {args.output_dir}"
    )
    print(f"{'split':<12}" + "".join(f"{name:>19}" for name in EVALUATION_METRICS))
    for split, metrics in summary["evaluation"].items():
        print(
            f"{split:<12}"
            + "".join(f"{metrics.get(name, float('nan')):>19.4f}" for name in EVALUATION_METRICS)
        )
    return 0
