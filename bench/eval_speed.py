"""Wall time and validity of the paper's generation protocol, likelihood ranking and constrained decoding.

    python bench/eval_speed.py --data-dir ../shared/data/llara/movielens            # 95 test rows
    python bench/eval_speed.py --data-dir ../shared/data/llara/movielens --limit 32

One run, one model load: the embedded default (SmolLM2-135M-Instruct) zero-shot, text-only prompts, on the
LLaRA MovieLens test rows with their stored candidates. The rows go in chunks, and each chunk runs the
three protocols in turn, so that machine noise hits all of them alike. The table gives each protocol's
wall time, its speed-up over the paper's generation (goal: ranking >= 5x), its validity and HR@1 (the
paper's: correct / valid) and strict HR@1 (correct / all rows): the zero-shot anchors a trained model
must beat. The ranking is also read with the mean instead of the sum of token log-probabilities, from the
same scores. Predictions and metrics per protocol go to --predictions-dir.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch
from tqdm.auto import tqdm

from llara_hf.data import load_item_catalogue, load_llara_dataset, named_config
from llara_hf.evaluation import load_model_and_processor, predict, protocol_metrics, write_results
from llara_hf.metrics import hit_ratio_at_k, target_ranks

PROTOCOLS = ("paper", "ranking", "constrained")


def mean_reduction_hr1(predictions: list[dict], processor) -> float:
    """HR@1 of the ranking when each candidate's summed log-likelihood is divided by its answer's length."""
    ranks = []
    for prediction in predictions:
        candidates = prediction["candidate_item_ids"]
        lengths = [len(processor.encode_completion(processor.catalogue.titles[item])) for item in candidates]
        scores = torch.tensor(prediction["scores"]) / torch.tensor(lengths, dtype=torch.float32)
        target = candidates.index(prediction["target_item_id"])
        ranks.append(int(target_ranks(scores.unsqueeze(0), [target])[0]))
    return hit_ratio_at_k(ranks, 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir", default="../shared/data/llara/movielens", help="the LLaRA MovieLens folder"
    )
    parser.add_argument("--model", default="default", help="any causal LM, evaluated zero-shot (default)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, help="first N rows only")
    parser.add_argument(
        "--batch-size", type=int, default=16, help="rows per generate call or forward pass (16)"
    )
    parser.add_argument("--protocols", nargs="+", choices=PROTOCOLS, default=list(PROTOCOLS))
    parser.add_argument(
        "--predictions-dir", default="outputs/eval_speed", help="predictions and metrics per protocol"
    )
    parser.add_argument("--output", default="bench/eval_speed.json")
    args = parser.parse_args()

    rows = list(load_llara_dataset("movielens", args.data_dir, trust_pickles=True)[args.split])[: args.limit]
    catalogue = load_item_catalogue("movielens", args.data_dir)
    templates = named_config("movielens", args.data_dir).prompt_templates()
    started = time.perf_counter()
    model, processor = load_model_and_processor(args.model, catalogue, templates=templates, device="cpu")
    load_seconds = time.perf_counter() - started

    seconds = dict.fromkeys(args.protocols, 0.0)
    predictions = {protocol: [] for protocol in args.protocols}
    for start in tqdm(range(0, len(rows), args.batch_size), desc="chunks of rows"):
        chunk = rows[start : start + args.batch_size]
        for protocol in args.protocols:
            started = time.perf_counter()
            chunk_predictions = predict(
                model, processor, chunk, protocol, args.batch_size, prompt_form="text", show_progress=False
            )
            seconds[protocol] += time.perf_counter() - started
            for offset, prediction in enumerate(chunk_predictions):
                predictions[protocol].append({**prediction, "row": start + offset})

    results = {}
    for protocol in args.protocols:
        metrics = protocol_metrics(protocol, predictions[protocol])
        if protocol == "ranking":
            metrics["hr@1_mean_reduction"] = mean_reduction_hr1(predictions[protocol], processor)
        results[protocol] = {"seconds": seconds[protocol], "seconds_per_row": seconds[protocol] / len(rows)}
        results[protocol]["metrics"] = metrics
        summary = {"protocol": protocol, "model": args.model, "prompt_form": "text", "num_rows": len(rows)}
        summary.update(seconds=seconds[protocol], settings={"batch_size": args.batch_size}, metrics=metrics)
        write_results(os.path.join(args.predictions_dir, protocol), predictions[protocol], summary)

    paper_seconds = seconds.get("paper")
    speedups = {protocol: paper_seconds / seconds[protocol] for protocol in seconds} if paper_seconds else {}
    header = f"{'protocol':<12} {'seconds':>8} {'s/row':>6} {'speed-up':>8} {'valid':>6} {'HR@1':>6} {'strict HR@1':>11}"
    print(
        f"\n{args.model} zero-shot (text prompts), {len(rows)} {args.split} rows, batch {args.batch_size}, "
        f"model load {load_seconds:.1f} s, {torch.get_num_threads()} threads"
    )
    print(header)
    print("-" * len(header))
    for protocol, result in results.items():
        metrics = result["metrics"]
        speedup = f"{speedups[protocol]:.1f}x" if speedups else "-"
        print(
            f"{protocol:<12} {result['seconds']:>8.1f} {result['seconds_per_row']:>6.2f} {speedup:>8} "
            f"{metrics['valid_ratio']:>6.3f} {metrics['hr@1']:>6.3f} {metrics.get('strict_hr@1', metrics['hr@1']):>11.3f}"
        )
    if "ranking" in results:
        ranking = results["ranking"]["metrics"]
        print(
            f"ranking: HR@3 {ranking['hr@3']:.3f}, HR@5 {ranking['hr@5']:.3f}, NDCG@10 {ranking['ndcg@10']:.3f}, "
            f"MRR {ranking['mrr']:.3f}; HR@1 with the mean instead of the sum: {ranking['hr@1_mean_reduction']:.3f}"
        )
    report = {
        "model": args.model,
        "prompt_form": "text",
        "split": args.split,
        "num_rows": len(rows),
        "batch_size": args.batch_size,
        "model_load_seconds": load_seconds,
        "torch_threads": torch.get_num_threads(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "results": results,
        "speedup_over_paper": speedups,
    }
    os.makedirs(os.path.dirname(args.output) or ".", exist_ok=True)
    with open(f"{args.output}.tmp", "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    os.replace(f"{args.output}.tmp", args.output)
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
