"""`llara demo`: the main job, from MovieLens to one comparison table (README's first command)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="Run the whole method on MovieLens: SASRec, zero-shot, text-only fine-tuning and LLaRA, one table.",
        description="Prepare the LLaRA MovieLens split, train SASRec, fine-tune the backbone text-only and as "
        "LLaRA (linear curriculum, LoRA), evaluate all of them on the test split (paper protocol and likelihood "
        "ranking) and print one table; writes main_job.json, training_curves.png and the LLaRA model folder.",
    )
    parser.add_argument(
        "--budget",
        default="quick",
        choices=("quick", "cpu-hour", "full"),
        help="quick: about 15 minutes on 2 CPU cores; cpu-hour: about 1.5 hours; full: the paper's scale, for a GPU",
    )
    parser.add_argument(
        "--data-dir",
        help="the LLaRA MovieLens folder or GroupLens ML-100K files (found in ../shared/data when unset; "
        "without either, ML-100K is downloaded from GroupLens)",
    )
    parser.add_argument("--output-dir", default="runs/demo", help="where results and models go (runs/demo)")
    parser.add_argument(
        "--backbone", default="default", help="'default' (SmolLM2-135M-Instruct), a Hub id or a path"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from llara_hf.main_job import run_main_job

    run_main_job(
        budget=args.budget,
        data_dir=args.data_dir,
        output_dir=args.output_dir,
        backbone=args.backbone,
        seed=args.seed,
    )
    return 0
