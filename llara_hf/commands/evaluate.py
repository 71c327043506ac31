"""`llara evaluate`: one evaluation protocol over a dataset split; writes predictions.jsonl and metrics.json."""

from __future__ import annotations

import argparse
import json
import os
import sys

DATASETS = ("movielens", "lastfm", "steam", "interactions")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The options `llara evaluate` and `llara recommend` share: which model, on which data, where."""
    parser.add_argument(
        "--model",
        required=True,
        help="a trained LLaRA folder or Hub id, or any causal LM for zero-shot text prompts: 'default' (the "
        "embedded SmolLM2-135M-Instruct), a Hub id, a folder or a .gguf file",
    )
    parser.add_argument("--dataset", choices=DATASETS, help="dataset config (its items and prompt templates)")
    parser.add_argument("--data-dir", help="the dataset's folder, as for `llara prepare`")
    parser.add_argument("--seed", type=int, default=42, help="the dataset's seed (user split, candidates)")
    parser.add_argument(
        "--trust-pickles",
        action="store_true",
        help="allow unpickling the LLaRA release's *.df files (a pickle runs code: only for files you trust)",
    )
    parser.add_argument("--cache-dir", help="datasets cache folder (default: the Hugging Face cache)")
    parser.add_argument(
        "--recommender",
        help="a trained recommender (folder or Hub id) to retrieve with, for a zero-shot causal LM",
    )
    parser.add_argument("--prompt-form", choices=("hybrid", "text"), help="default: the model's prompt_form")
    parser.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), help="default: the model's")
    parser.add_argument("--device", help="default: cuda when available, else cpu")


def load_model(args: argparse.Namespace):
    """The model and processor the arguments name, on their device, in eval mode."""
    import torch

    from llara_hf.data import load_item_catalogue, named_config
    from llara_hf.evaluation import load_model_and_processor

    catalogue, templates = None, "movie"
    if args.dataset is not None:
        catalogue = load_item_catalogue(args.dataset, args.data_dir)
        templates = named_config(args.dataset, args.data_dir).prompt_templates()
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    return load_model_and_processor(
        args.model, catalogue, args.recommender, templates=templates, dtype=args.dtype, device=device
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="Evaluate a model on a dataset split: the paper's protocol, likelihood ranking, constrained "
        "decoding or full-catalogue retrieve-and-rerank.",
        description="Run one protocol over a split and write predictions.jsonl (one record per row) and "
        "metrics.json into --output-dir. paper: greedy generation read as the paper does (ValidRatio, "
        "HR@1 = correct/valid, strict HR@1 = correct/all); ranking: every candidate scored by likelihood "
        "(HR@1/3/5, NDCG@3/5/10, MRR); constrained: generation restricted to the candidates (HR@1); full: "
        "the recommender retrieves from the whole catalogue, the LLM reranks (HR@1/5/10, NDCG@10).",
    )
    add_model_arguments(parser)
    parser.add_argument("--split", default="test", help="dataset split (test)")
    parser.add_argument(
        "--protocol", choices=("paper", "ranking", "constrained", "full"), default="ranking", help="(ranking)"
    )
    parser.add_argument("--output-dir", required=True, help="where predictions.jsonl and metrics.json go")
    parser.add_argument(
        "--batch-size", type=int, default=8, help="rows per forward pass or generate call (8)"
    )
    parser.add_argument("--limit", type=int, help="evaluate the first N rows only")
    parser.add_argument("--max-new-tokens", type=int, default=64, help="paper protocol's budget (64)")
    parser.add_argument("--num-retrieved", type=int, default=20, help="full protocol: items retrieved (20)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from llara_hf.data import load_llara_dataset
    from llara_hf.evaluation import METRICS_FILE, PREDICTIONS_FILE, evaluate

    if args.dataset is None:
        print("llara evaluate needs --dataset (and usually --data-dir).", file=sys.stderr)
        return 2
    dataset = load_llara_dataset(
        args.dataset,
        args.data_dir,
        seed=args.seed,
        trust_pickles=args.trust_pickles,
        cache_dir=args.cache_dir,
    )
    if args.split not in dataset:
        print(f"No split {args.split!r} in {args.dataset}: it has {list(dataset)}.", file=sys.stderr)
        return 2
    model, processor = load_model(args)
    metrics = evaluate(
        model,
        processor,
        dataset[args.split],
        protocol=args.protocol,
        batch_size=args.batch_size,
        output_dir=args.output_dir,
        prompt_form=args.prompt_form,
        limit=args.limit,
        max_new_tokens=args.max_new_tokens,
        num_retrieved=args.num_retrieved,
    )
    print(json.dumps(metrics, indent=2))
    print(
        f"Wrote {os.path.join(args.output_dir, PREDICTIONS_FILE)} and {os.path.join(args.output_dir, METRICS_FILE)}"
    )
    return 0
