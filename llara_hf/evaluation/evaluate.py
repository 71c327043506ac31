"""`evaluate`: run one protocol over a dataset split and write `predictions.jsonl` and `metrics.json`."""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext

from accelerate import Accelerator
from accelerate.utils import gather_object

from ..candidate_scoring import resolve_prompt_form
from .generation import PAPER_MAX_NEW_TOKENS
from .protocols import (
    PROTOCOLS,
    Prediction,
    constrained_protocol,
    full_protocol,
    paper_protocol,
    protocol_metrics,
    ranking_protocol,
)

PREDICTIONS_FILE = "predictions.jsonl"
METRICS_FILE = "metrics.json"
REQUIRED_COLUMNS = {
    "paper": ("history_item_ids", "candidate_item_ids", "target_item_id"),
    "ranking": ("history_item_ids", "candidate_item_ids", "target_item_id"),
    "constrained": ("history_item_ids", "candidate_item_ids", "target_item_id"),
    "full": ("history_item_ids", "target_item_id"),
}


def write_atomically(path: str, text: str) -> None:
    """Write `text` to `path` through a temporary file, so a crash never leaves half a file."""
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def take_rows(dataset_split: Iterable[Mapping], protocol: str, limit: int | None) -> list[Mapping]:
    """The first `limit` rows (all when None), checked for the columns the protocol reads."""
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}.")
    rows = list(itertools.islice(iter(dataset_split), limit))
    if not rows:
        raise ValueError("The dataset split has no rows to evaluate.")
    missing = [column for column in REQUIRED_COLUMNS[protocol] if column not in rows[0]]
    if missing:
        raise ValueError(
            f"The {protocol} protocol reads the columns {list(REQUIRED_COLUMNS[protocol])}; the rows lack "
            f"{missing}. Use rows from `load_llara_dataset`."
        )
    return rows


def check_prompt_rendering(processor, row: Mapping, hybrid: bool) -> None:
    """The processor must render a row's prompt as the dataset stored it (same templates, same items)."""
    column = "prompt" if hybrid else "prompt_text_only"
    if column not in row or "candidate_item_ids" not in row:
        return
    rendered, _ = processor.render(
        row["history_item_ids"],
        row["candidate_item_ids"],
        hybrid=hybrid,
        template_id=int(row.get("template_id") or 0),
    )
    if rendered != row[column]:
        raise ValueError(
            f"The processor renders the first row's prompt differently from the dataset's `{column}`:\n"
            f"  processor: {rendered!r}\n  dataset:   {row[column]!r}\n"
            "Give the processor the dataset's prompt templates (its domain) and placeholder token."
        )


def predict(
    model,
    processor,
    rows: Sequence[Mapping],
    protocol: str = "ranking",
    batch_size: int = 8,
    prompt_form: str | None = None,
    max_new_tokens: int = PAPER_MAX_NEW_TOKENS,
    num_retrieved: int = 20,
    seed: int = 0,
    show_progress: bool = True,
) -> list[Prediction]:
    """One protocol's per-row predictions (the records of `predictions.jsonl`), the model in eval mode meanwhile.

    The arguments are `evaluate`'s; `protocol_metrics(protocol, predictions)` gives the metrics.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {protocol!r}: use one of {list(PROTOCOLS)}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    hybrid = resolve_prompt_form(model, prompt_form)
    was_training = model.training
    model.eval()
    try:
        if protocol == "paper":
            return paper_protocol(model, processor, rows, hybrid, batch_size, show_progress, max_new_tokens)
        if protocol == "ranking":
            return ranking_protocol(model, processor, rows, hybrid, batch_size, show_progress)
        if protocol == "constrained":
            return constrained_protocol(model, processor, rows, hybrid, batch_size, show_progress)
        return full_protocol(model, processor, rows, hybrid, batch_size, show_progress, num_retrieved, seed)
    finally:
        model.train(was_training)


def evaluate(
    model,
    processor,
    dataset_split: Iterable[Mapping],
    protocol: str = "ranking",
    batch_size: int = 8,
    output_dir: str | os.PathLike | None = None,
    prompt_form: str | None = None,
    limit: int | None = None,
    max_new_tokens: int = PAPER_MAX_NEW_TOKENS,
    num_retrieved: int = 20,
    seed: int = 0,
    show_progress: bool = True,
    accelerator: Accelerator | None = None,
) -> dict[str, float]:
    """Evaluate a LLaRA model on a split with one protocol; returns its metrics and `num_rows`.

    Args:
        model: a `LlaraForRecommendation` (`from_pretrained`, or `from_backbone` for zero-shot).
        processor: its `LlaraProcessor`.
        dataset_split: rows of `load_llara_dataset` (a `datasets.Dataset` or dicts).
        protocol: `"paper"`, `"ranking"`, `"constrained"` or `"full"` (see `protocols`).
        batch_size: rows per forward pass or `generate` call.
        output_dir: where to write `predictions.jsonl` (one record per row) and `metrics.json`.
        prompt_form: `"hybrid"` or `"text"`; the model's `config.prompt_form` by default.
        limit: evaluate the first `limit` rows only.
        max_new_tokens: the paper protocol's generation budget (the paper: 64).
        num_retrieved: how many items the full protocol retrieves for the LLM to rerank.
        seed: seeds the order of retrieved items in the full protocol's prompts.
        show_progress: show a progress bar.
        accelerator: under `accelerate launch`, each process predicts its own contiguous share of the rows
            and every process gets the metrics of all of them; only the main process writes `output_dir`.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {protocol!r}: use one of {list(PROTOCOLS)}.")
    hybrid = resolve_prompt_form(model, prompt_form)
    rows = take_rows(dataset_split, protocol, limit)
    check_prompt_rendering(processor, rows[0], hybrid)
    started = time.perf_counter()
    shares = nullcontext(rows) if accelerator is None else accelerator.split_between_processes(rows)
    with shares as share:
        predictions = (
            predict(
                model,
                processor,
                share,
                protocol,
                batch_size,
                prompt_form,
                max_new_tokens,
                num_retrieved,
                seed,
                show_progress,
            )
            if share
            else []
        )
    if accelerator is not None:
        predictions = gather_object(predictions)
        for index, prediction in enumerate(predictions):
            prediction["row"] = index
    seconds = time.perf_counter() - started
    metrics = {**protocol_metrics(protocol, predictions), "num_rows": len(predictions)}
    if output_dir is not None and (accelerator is None or accelerator.is_main_process):
        settings = {"batch_size": batch_size, "limit": limit}
        if protocol == "paper":
            settings["max_new_tokens"] = max_new_tokens
        if protocol == "full":
            settings.update(num_retrieved=num_retrieved, seed=seed)
        summary = {
            "protocol": protocol,
            "model": str(getattr(model, "name_or_path", "")),
            "prompt_form": "hybrid" if hybrid else "text",
            "seconds": seconds,
            "settings": settings,
            "metrics": metrics,
        }
        write_results(output_dir, predictions, summary)
    return metrics


def write_results(output_dir: str | os.PathLike, predictions: Sequence[Prediction], summary: dict) -> None:
    """Write `predictions.jsonl` and `metrics.json` into `output_dir`, each atomically."""
    os.makedirs(output_dir, exist_ok=True)
    lines = "".join(json.dumps(prediction, ensure_ascii=False) + "\n" for prediction in predictions)
    write_atomically(os.path.join(output_dir, PREDICTIONS_FILE), lines)
    write_atomically(os.path.join(output_dir, METRICS_FILE), json.dumps(summary, indent=2) + "\n")
