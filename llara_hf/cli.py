"""The `llara` command line: one sub-command per module in `llara_hf.commands`, each thin."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each module defines `register(subparsers)`, which adds its parser and sets `func(args) -> int`.
COMMAND_MODULES = (
    "prepare",
    "train_recommender",
    "train",
    "evaluate",
    "recommend",
    "push",
    "demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llara",
        description="LLaRA: fine-tune any causal LM into a sequential recommender (hybrid item prompts, "
        "curriculum prompt tuning) with transformers, PEFT and TRL.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"llara_hf.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # A command that forwards its own options to another parser (`llara train`) takes what is left over.
    if hasattr(args, "extra_options"):
        args.extra_options = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
