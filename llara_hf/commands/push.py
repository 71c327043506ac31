"""`llara push`: publish a trained model (adapter or merged) or a prepared dataset to the Hugging Face Hub."""

from __future__ import annotations

import argparse
import json
import os
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "push",
        help="Push a trained model (with its processor, card and code) or a prepared dataset to the Hub.",
        description="Push a trained LLaRA model (`--model`: the output_dir of `llara train` or any folder "
        "saved with save_pretrained) or the rows of `llara prepare` (`--dataset-dir`) to the Hub. The token "
        "comes from `hf auth login`, HF_TOKEN or --token; the Hub from HF_ENDPOINT.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", metavar="DIR", help="a trained model folder (LoRA adapter or full model)")
    source.add_argument("--dataset-dir", metavar="DIR", help="the --output-dir of `llara prepare`")
    parser.add_argument(
        "--repo-id", required=True, help="the repository to push to, e.g. you/llara-movielens"
    )
    visibility = parser.add_mutually_exclusive_group()
    visibility.add_argument(
        "--private",
        dest="private",
        action="store_const",
        const=True,
        default=None,
        help="a private repository",
    )
    visibility.add_argument(
        "--public",
        dest="private",
        action="store_const",
        const=False,
        help="a public repository even for MovieLens rows, which are private by default",
    )
    parser.add_argument("--token", help="a Hugging Face token with write access (default: the logged-in one)")
    parser.add_argument("--commit-message", help="message of the commit")
    model = parser.add_argument_group("models")
    model.add_argument(
        "--merged", action="store_true", help="merge LoRA into the weights and push the full model"
    )
    model.add_argument(
        "--adapter-base",
        metavar="DIR_OR_ID",
        help="the LLaRA base a LoRA adapter was trained from, when its adapter_config.json names none",
    )
    model.add_argument("--base-repo-id", help="where an adapter's base goes (default: <repo-id>-base)")
    model.add_argument(
        "--datasets", nargs="+", default=None, metavar="ID", help="Hub ids of the training data"
    )
    model.add_argument(
        "--metrics",
        metavar="JSON",
        help='a JSON file {"protocol": {"metric": value}}, e.g. {"paper": {"hr@1": 0.41, "valid_ratio": 0.98}}',
    )
    model.add_argument("--anchors", metavar="JSON", help="reference numbers in the --metrics layout")
    model.add_argument("--anchor-source", help="where the anchors come from, shown under the metrics table")
    model.add_argument("--backbone-id", help="Hub id of the language model, for the card's base_model")
    model.add_argument("--license", help="licence of the weights (default: the backbone's when known)")
    parser.set_defaults(func=run)


def _read_json(path: str | os.PathLike | None) -> dict | None:
    if path is None:
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _push_model(args: argparse.Namespace):
    from llara_hf.evaluation import load_llara_folder
    from llara_hf.hub import CURRICULUM_FILE, find_log_history, push_llara_to_hub

    model, processor = load_llara_folder(args.model, adapter_base_path=args.adapter_base)
    curriculum = os.path.join(args.model, CURRICULUM_FILE)
    return push_llara_to_hub(
        model,
        processor,
        args.repo_id,
        merged=args.merged,
        private=args.private,
        token=args.token,
        base_repo_id=args.base_repo_id,
        commit_message=args.commit_message,
        log_history=find_log_history(args.model),
        curriculum=_read_json(curriculum) if os.path.isfile(curriculum) else None,
        metrics=_read_json(args.metrics),
        anchors=_read_json(args.anchors),
        anchor_source=args.anchor_source,
        datasets=args.datasets,
        backbone_id=args.backbone_id,
        license=args.license,
    )


def run(args: argparse.Namespace) -> int:
    from llara_hf.hub import HubAuthenticationError, HubConnectionError, push_prepared_dataset_to_hub

    try:
        if args.dataset_dir is not None:
            repo_id = push_prepared_dataset_to_hub(
                args.dataset_dir,
                args.repo_id,
                private=args.private,
                token=args.token,
                commit_message=args.commit_message,
            )
            print(f"Pushed the dataset in {args.dataset_dir} to {repo_id}")
            return 0
        result = _push_model(args)
    except (HubAuthenticationError, HubConnectionError, FileNotFoundError, ValueError) as error:
        print(f"llara push: {error}", file=sys.stderr)
        return 1
    base = f" (base: {result.base_repo_id})" if result.base_repo_id else ""
    print(f"Pushed the {result.kind} model in {args.model} to {result.url}{base}")
    return 0
