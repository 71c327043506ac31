"""`llara train`: the recipe trainer on the command line (`recipes/train.py` without `accelerate launch`)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        add_help=False,
        help="Fine-tune a causal LM into LLaRA with the curriculum trainer (--config FILE, any field as --name VALUE).",
        description="Same arguments as recipes/train.py; `llara train --help` lists them all.",
    )
    parser.set_defaults(func=run, extra_options=[])


def run(args: argparse.Namespace) -> int:
    from trl import TrlParser

    from llara_hf import CurriculumSFTConfig, LlaraTrainArguments, train_llara

    parser = TrlParser((LlaraTrainArguments, CurriculumSFTConfig), prog="llara train")
    script_args, training_args = parser.parse_args_and_config(args=args.extra_options)
    train_llara(script_args, training_args)
    return 0
