"""`llara prepare`: build a LLaRA dataset and write one Parquet file per split and the item catalogue."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

# Options passed through to `load_llara_dataset` when given (argparse dest -> LlaraDataConfig field).
DATA_OPTIONS = (
    "num_candidates",
    "max_history",
    "min_history",
    "domain",
    "grouplens_dataset",
    "interactions_file",
    "items_file",
    "user_column",
    "item_column",
    "timestamp_column",
    "title_column",
)
SUMMARY_FILE = "prepare_summary.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="Build train/validation/test prompts from the LLaRA release, MovieLens or your own tables.",
        description="Build LLaRA rows (history, seeded candidates, target, prompts) and write <split>.parquet, "
        f"item_catalogue.json and {SUMMARY_FILE} into --output-dir.",
    )
    parser.add_argument(
        "name", choices=("movielens", "lastfm", "steam", "interactions"), help="dataset config"
    )
    parser.add_argument(
        "--data-dir",
        help="folder with the LLaRA release files, GroupLens MovieLens files or your tables "
        "(movielens without it: downloaded from GroupLens)",
    )
    parser.add_argument("--output-dir", required=True, help="where the Parquet files go")
    parser.add_argument("--seed", type=int, default=42, help="fixes the user split, candidates and templates")
    parser.add_argument(
        "--trust-pickles",
        action="store_true",
        help="allow unpickling the LLaRA release's *.df files (a pickle runs code: only for files you trust)",
    )
    parser.add_argument("--num-candidates", type=int, help="candidates per row, the target included (20)")
    parser.add_argument("--max-history", type=int, help="most recent history items kept per row (10)")
    parser.add_argument("--min-history", type=int, help="rows with fewer history items are dropped (3)")
    parser.add_argument("--domain", choices=("movie", "game", "music_artist"), help="prompt templates to use")
    parser.add_argument("--grouplens-dataset", help="MovieLens file to download without --data-dir (ml-100k)")
    parser.add_argument("--interactions-file", help="interactions table (CSV, Parquet or JSON Lines)")
    parser.add_argument("--items-file", help="items table with item ids and titles")
    parser.add_argument("--user-column", help="user column of the interactions table (user)")
    parser.add_argument("--item-column", help="item column of both tables (item)")
    parser.add_argument("--timestamp-column", help="timestamp column of the interactions table (timestamp)")
    parser.add_argument("--title-column", help="title column of the items table (title)")
    parser.add_argument("--cache-dir", help="datasets cache folder (default: the Hugging Face cache)")
    parser.set_defaults(func=run)


def _write_atomically(dataset, path: str) -> None:
    temporary = f"{path}.tmp"
    dataset.to_parquet(temporary)
    os.replace(temporary, path)


def run(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from llara_hf.data import detect_layout, load_item_catalogue, load_llara_dataset, named_config
    from llara_hf.data.config import option_names

    options = {name: getattr(args, name) for name in DATA_OPTIONS if getattr(args, name) is not None}
    start = time.perf_counter()
    try:
        config = named_config(args.name, args.data_dir, seed=args.seed, **options)
        downloads = args.data_dir is None and args.name == "movielens"
        layout = config.grouplens_dataset if downloads else detect_layout(args.name, args.data_dir)
        catalogue = load_item_catalogue(args.name, data_dir=args.data_dir, **options)
        dataset = load_llara_dataset(
            args.name,
            data_dir=args.data_dir,
            seed=args.seed,
            trust_pickles=args.trust_pickles,
            cache_dir=args.cache_dir,
            **options,
        )
    except (FileNotFoundError, PermissionError, ValueError) as error:
        print(f"llara prepare: {error}", file=sys.stderr)
        return 1
    build_seconds = time.perf_counter() - start
    os.makedirs(args.output_dir, exist_ok=True)
    for split in tqdm(list(dataset), desc="Writing Parquet", unit="split"):
        _write_atomically(dataset[split], os.path.join(args.output_dir, f"{split}.parquet"))
    catalogue.save(args.output_dir)
    summary = {
        "name": args.name,
        "layout": layout,
        "data_dir": args.data_dir,
        "config": {option: getattr(config, option) for option in option_names() if option != "trust_pickles"},
        "num_items": catalogue.num_items,
        "num_rows": {split: dataset[split].num_rows for split in dataset},
        "build_seconds": round(build_seconds, 2),
    }
    summary_path = os.path.join(args.output_dir, SUMMARY_FILE)
    with open(f"{summary_path}.tmp", "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    os.replace(f"{summary_path}.tmp", summary_path)
    rows = ", ".join(f"{split} {count}" for split, count in summary["num_rows"].items())
    print(
        f"{args.name}: {rows} rows, {catalogue.num_items} items, built in {build_seconds:.1f}s -> {args.output_dir}"
    )
    return 0
