"""`llara recommend`: rank items for one history, from given candidates or the whole catalogue."""

from __future__ import annotations

import argparse
import json
import sys

from .evaluate import add_model_arguments, load_model


def parse_item_ids(text: str) -> list[int]:
    """`"1,2, 3"` -> `[1, 2, 3]`, or an argparse error naming the bad entry."""
    item_ids = []
    for entry in text.split(","):
        entry = entry.strip()
        if not entry.lstrip("-").isdigit():
            raise argparse.ArgumentTypeError(f"{entry!r} is not an item id: give comma-separated integers.")
        item_ids.append(int(entry))
    return item_ids


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "recommend",
        help="Recommend items for a history: rank given candidates, or retrieve from the catalogue and rerank.",
        description="Ranks --candidates by the LLM's likelihood; without them the model's recommender retrieves "
        "--num-retrieved items from the whole catalogue (history excluded) and the LLM reranks them. Item "
        "ids are the dataset's (0-based). A zero-shot causal LM needs --dataset/--data-dir for the titles.",
    )
    add_model_arguments(parser)
    parser.add_argument(
        "--history", type=parse_item_ids, required=True, help='past item ids, oldest first: "1,2,3"'
    )
    parser.add_argument("--candidates", type=parse_item_ids, help='item ids to rank: "4,5,6"')
    parser.add_argument("--top-k", type=int, default=10, help="how many to show (10)")
    parser.add_argument(
        "--num-retrieved", type=int, default=20, help="items retrieved without --candidates (20)"
    )
    parser.add_argument("--output", help="also write the ranking as JSON to this file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from llara_hf.evaluation.evaluate import write_atomically

    model, processor = load_model(args)
    ranking = model.recommend(
        args.history,
        candidates=args.candidates,
        top_k=args.top_k,
        processor=processor,
        prompt_form=args.prompt_form,
        num_retrieved=args.num_retrieved,
    )
    history = ", ".join(processor.catalogue.titles_of(args.history, "history item"))
    print(f"History: {history}")
    print(f"{'rank':>4}  {'item':>6}  {'log-likelihood':>14}  title")
    for rank, (item_id, title, score) in enumerate(ranking, start=1):
        print(f"{rank:>4}  {item_id:>6}  {score:>14.3f}  {title}")
    if args.output:
        records = [{"item_id": item_id, "title": title, "score": score} for item_id, title, score in ranking]
        document = {"history": args.history, "recommendations": records}
        write_atomically(args.output, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        print(f"Wrote {args.output}", file=sys.stderr)
    return 0
