"""Cost of LLaRA's item-embedding hook: forward + backward of `LlaraForRecommendation` against the bare
backbone on the same tokens, plus a per-sample Python loop like the original LLaRA code, as reference.

    python bench/hook_overhead.py                       # the embedded default, batch 4 x ~400 tokens
    python bench/hook_overhead.py --repeats 9 --dtypes bfloat16

The bare backbone is the very same modules (language model, LM head, loss) called without the hook, so
the two differ by the hook alone. Each round runs the variants in a seeded random order; the table gives
medians, the median of the per-round ratios to the backbone, and the hook's own forward + backward time
measured in isolation (embedding lookup, projector, `masked_scatter`), which end-to-end noise hides.
`bfloat16` is mixed precision (autocast), as the trainer runs it. Goal: hook / backbone <= 1.03.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import random
import statistics
import time

import torch

from llara_hf import ItemCatalogue, LlaraForRecommendation, LlaraProcessor
from llara_hf.modeling_llara import flatten_item_ids


def sample_batch(
    processor: LlaraProcessor, batch_size: int, num_items: int, seed: int
) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    histories, candidates, targets = [], [], []
    for _ in range(batch_size):
        items = torch.randperm(num_items, generator=generator)[:30].tolist()
        histories.append(items[:10])
        candidates.append(items[10:30])
        targets.append(items[10])
    return dict(processor(histories, candidates, target_item_ids=targets, hybrid=True))


def hooked_embeddings(model: LlaraForRecommendation, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """This package's injection: every item of the batch at once."""
    inner = model.model
    embeddings = inner.get_input_embeddings()(batch["input_ids"])
    item_ids = flatten_item_ids(batch["item_ids"], embeddings.device)
    mask = inner.get_placeholder_mask(batch["input_ids"], item_ids)
    features = inner.get_item_features(item_ids).to(embeddings.dtype)
    return embeddings.masked_scatter(mask.unsqueeze(-1), features)


def looped_embeddings(model: LlaraForRecommendation, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The original code's injection: one sample and one placeholder at a time."""
    inner = model.model
    embeddings = inner.get_input_embeddings()(batch["input_ids"])
    for row in range(batch["input_ids"].shape[0]):
        positions = (batch["input_ids"][row] == model.config.item_token_id).nonzero().view(-1)
        items = batch["item_ids"][row][batch["item_ids"][row] != -100]
        for position, item in zip(positions, items, strict=True):
            embeddings[row, position] = inner.get_item_features(item).to(embeddings.dtype)
    return embeddings


def backbone_loss(
    model: LlaraForRecommendation, batch: dict[str, torch.Tensor], inputs_embeds=None
) -> torch.Tensor:
    """The backbone's own causal-LM computation, on token ids or on given input embeddings."""
    hidden = model.model.language_model(
        input_ids=None if inputs_embeds is not None else batch["input_ids"],
        inputs_embeds=inputs_embeds,
        attention_mask=batch["attention_mask"],
    ).last_hidden_state
    logits = model.lm_head(hidden)
    return model.loss_function(logits=logits, labels=batch["labels"], vocab_size=logits.shape[-1])


def timed(run, precision) -> float:
    start = time.perf_counter()
    with precision():
        loss = run()
    loss.backward()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backbone", default="default")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--dtypes", nargs="+", default=["bfloat16", "float32"])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--output", default="bench/hook_overhead.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    num_items = 1682
    catalogue = ItemCatalogue([f"Movie title number {item} (a film)" for item in range(num_items)])
    processor = LlaraProcessor.from_backbone(args.backbone, catalogue)
    batch = sample_batch(processor, args.batch_size, num_items, seed=0)
    tokens = int(batch["attention_mask"].sum())
    model = LlaraForRecommendation.from_backbone(
        args.backbone, num_items=num_items, tokenizer=processor.tokenizer
    )
    model.train()
    variants = {
        "bare backbone": lambda: backbone_loss(model, batch),
        "LlaraForRecommendation (hook)": lambda: model(**batch).loss,
        "per-sample Python loop (original code)": lambda: backbone_loss(
            model, batch, looped_embeddings(model, batch)
        ),
    }
    injections = {
        "LlaraForRecommendation (hook)": lambda: hooked_embeddings(model, batch).float().sum(),
        "per-sample Python loop (original code)": lambda: looped_embeddings(model, batch).float().sum(),
    }

    order = random.Random(0)
    results = []
    for dtype in args.dtypes:
        if dtype == "bfloat16":
            precision = lambda: torch.autocast("cpu", dtype=torch.bfloat16)  # noqa: E731
        else:
            precision = contextlib.nullcontext
        times = {name: [] for name in variants}
        for repeat in range(args.repeats + 1):
            names = list(variants)
            order.shuffle(names)
            for name in names:
                model.zero_grad(set_to_none=True)
                elapsed = timed(variants[name], precision)
                if repeat:  # the first round warms up
                    times[name].append(elapsed)
        isolated = {}
        for name, run in injections.items():
            runs = []
            for _ in range(args.repeats + 1):
                model.zero_grad(set_to_none=True)
                runs.append(timed(run, precision))
            isolated[name] = statistics.median(runs[1:])
        baseline = times["bare backbone"]
        for name, values in times.items():
            ratios = [value / base for value, base in zip(values, baseline, strict=True)]
            results.append(
                {
                    "dtype": dtype,
                    "variant": name,
                    "median_s": statistics.median(values),
                    "median_ratio_to_backbone": statistics.median(ratios),
                    "injection_s": isolated.get(name),
                    "injection_share_of_backbone": None
                    if name not in isolated
                    else isolated[name] / statistics.median(baseline),
                    "runs": values,
                }
            )

    print(
        f"forward+backward, {args.backbone}, batch {args.batch_size}, {tokens} real tokens "
        f"({batch['input_ids'].shape[1]} padded), {int((batch['item_ids'] != -100).sum())} items, "
        f"{args.threads} threads, {args.repeats} rounds"
    )
    print(
        f"{'precision':<10} {'variant':<40} {'median s':>9} {'x backbone':>11} {'injection ms':>13} {'injection/backbone':>19}"
    )
    for row in results:
        injection = "-" if row["injection_s"] is None else f"{row['injection_s'] * 1000:.1f}"
        share = (
            "-"
            if row["injection_share_of_backbone"] is None
            else f"{1 + row['injection_share_of_backbone']:.4f}"
        )
        print(
            f"{row['dtype']:<10} {row['variant']:<40} {row['median_s']:>9.3f} "
            f"{row['median_ratio_to_backbone']:>11.3f} {injection:>13} {share:>19}"
        )
    report = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "threads": args.threads,
        },
        "backbone": args.backbone,
        "batch_size": args.batch_size,
        "tokens": tokens,
        "results": results,
    }
    with open(args.output, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)


if __name__ == "__main__":
    main()
