"""Train a sequential recommender on LLaRA's rows and evaluate it with the metrics the LLM is held to.

Rows follow the dataset schema: `history_item_ids` (oldest first), `target_item_id` and, for evaluation
over the stored candidates, `candidate_item_ids`. The loss is the cross-entropy of the target over the
whole catalogue (a full softmax: LLaRA's catalogues have a few thousand items, so no sampling is
needed); training stops early on a validation metric and keeps the best epoch's weights.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

import torch
from tqdm.auto import tqdm

from ..configuration_recommenders import SequentialRecommenderConfig, recommender_config_from_dict
from ..metrics import candidate_ranks, hit_ratio_at_k, mean_reciprocal_rank, ndcg_at_k, target_ranks
from ..modeling_recommender import SequentialRecommender
from ..recommender_registry import recommender_from_config

TRAINING_SUMMARY_FILE = "recommender_training.json"
EVALUATION_METRICS = (
    "candidate_hr@1",
    "candidate_mrr",
    "catalogue_hr@10",
    "catalogue_ndcg@10",
    "catalogue_mrr",
)


@dataclass
class RecommenderTrainingArguments:
    """How `train_recommender` trains.

    Args:
        output_dir: where the best model is saved with `save_pretrained`; nothing is saved when None.
        seed: seeds the initialisation, the dropout and the order of the training rows.
        num_epochs: the most passes over the training rows.
        batch_size: training rows per step.
        learning_rate: Adam's learning rate.
        weight_decay: Adam's L2 penalty.
        patience: epochs without a better `selection_metric` on validation before stopping.
        selection_metric: the validation metric to maximise, one of `EVALUATION_METRICS`.
        eval_batch_size: rows per forward pass when evaluating.
        show_progress: show a tqdm progress bar.
        device: where to train (`"cpu"`, `"cuda"`, ...); CUDA when available if None. Results are
            reproducible for a seed on the same device.
    """

    output_dir: str | None = None
    seed: int = 0
    num_epochs: int = 100
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 5
    selection_metric: str = "candidate_hr@1"
    eval_batch_size: int = 1024
    show_progress: bool = True
    device: str | None = None

    def __post_init__(self):
        if self.selection_metric not in EVALUATION_METRICS:
            raise ValueError(
                f"Unknown selection_metric {self.selection_metric!r}: use one of {list(EVALUATION_METRICS)}."
            )
        for name in ("num_epochs", "batch_size", "patience", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")


@dataclass
class SequenceRows:
    """Rows as tensors: right-padded histories with their lengths, targets and (optional) candidates."""

    history_item_ids: torch.LongTensor
    history_lengths: torch.LongTensor
    target_item_ids: torch.LongTensor
    candidate_item_ids: torch.LongTensor | None = None

    def __len__(self) -> int:
        return self.target_item_ids.shape[0]

    def select(self, indices: torch.Tensor | slice) -> SequenceRows:
        return SequenceRows(*(None if tensor is None else tensor[indices] for tensor in self._tensors()))

    def to(self, device: torch.device | str) -> SequenceRows:
        return SequenceRows(*(None if tensor is None else tensor.to(device) for tensor in self._tensors()))

    def _tensors(self) -> tuple[torch.Tensor | None, ...]:
        return self.history_item_ids, self.history_lengths, self.target_item_ids, self.candidate_item_ids

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping] | SequenceRows, num_items: int) -> SequenceRows:
        """Read rows (a `datasets.Dataset` or any iterable of dicts), checking every id against `num_items`."""
        if isinstance(rows, SequenceRows):
            return rows
        histories, targets, candidates = _columns(rows)
        if not targets:
            raise ValueError("No rows: a recommender needs at least one row to train or evaluate on.")
        for row, history in enumerate(histories):
            if len(history) == 0:
                raise ValueError(
                    f"Row {row} has an empty history: drop rows without past items (LLaRA keeps histories "
                    "of at least 3)."
                )
        lengths = torch.tensor([len(history) for history in histories])
        padded = torch.zeros(len(histories), int(lengths.max()), dtype=torch.long)
        for row, history in enumerate(histories):
            padded[row, : len(history)] = torch.as_tensor(history, dtype=torch.long)
        mask = torch.arange(padded.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
        _check_ids(padded[mask], num_items, "history item", mask.nonzero()[:, 0])
        target_ids = torch.as_tensor(targets, dtype=torch.long)
        _check_ids(target_ids, num_items, "target item", torch.arange(len(targets)))
        candidate_ids = None
        if candidates is not None:
            sizes = {len(row_candidates) for row_candidates in candidates}
            if len(sizes) != 1:
                raise ValueError(
                    f"Rows have different numbers of candidates {sorted(sizes)}: expected one size."
                )
            candidate_ids = torch.as_tensor(candidates, dtype=torch.long).reshape(len(candidates), -1)
            _check_ids(
                candidate_ids.reshape(-1),
                num_items,
                "candidate item",
                torch.arange(len(candidates)).repeat_interleave(candidate_ids.shape[1]),
            )
        return cls(padded, lengths, target_ids, candidate_ids)


def _columns(rows: Iterable[Mapping]) -> tuple[list, list, list | None]:
    """The history, target and candidate columns of a `datasets.Dataset` or an iterable of row dicts."""
    column_names = getattr(rows, "column_names", None)
    if column_names is not None:
        missing = {"history_item_ids", "target_item_id"} - set(column_names)
        if missing:
            raise ValueError(
                f"The rows lack the columns {sorted(missing)}; they have {sorted(column_names)}."
            )
        candidates = list(rows["candidate_item_ids"]) if "candidate_item_ids" in column_names else None
        return list(rows["history_item_ids"]), list(rows["target_item_id"]), candidates
    histories, targets, candidates = [], [], []
    for row, example in enumerate(rows):
        if "history_item_ids" not in example or "target_item_id" not in example:
            raise ValueError(f"Row {row} lacks history_item_ids or target_item_id; it has {sorted(example)}.")
        histories.append(list(example["history_item_ids"]))
        targets.append(int(example["target_item_id"]))
        candidates.append(example.get("candidate_item_ids"))
    has_candidates = [row_candidates is not None for row_candidates in candidates]
    if any(has_candidates) and not all(has_candidates):
        raise ValueError(f"Row {has_candidates.index(False)} has no candidate_item_ids while others do.")
    return histories, targets, candidates if all(has_candidates) else None


def _check_ids(item_ids: torch.Tensor, num_items: int, what: str, rows: torch.Tensor) -> None:
    outside = (item_ids < 0) | (item_ids >= num_items)
    if bool(outside.any()):
        first = int(outside.nonzero()[0, 0])
        raise ValueError(
            f"Unknown {what} id {int(item_ids[first])} in row {int(rows[first])}: the catalogue has ids "
            f"0..{num_items - 1}. Give the recommender the dataset's num_items."
        )


@torch.no_grad()
def evaluate_recommender(
    model: SequentialRecommender, rows: Iterable[Mapping] | SequenceRows, batch_size: int = 1024
) -> dict[str, float]:
    """HR@1 and MRR over each row's stored candidates, and HR@10, NDCG@10 and MRR over the whole catalogue.

    Keys: `candidate_hr@1`, `candidate_mrr` (only when the rows have `candidate_item_ids`),
    `catalogue_hr@10`, `catalogue_ndcg@10`, `catalogue_mrr`. Ties count against the target; no item
    (not even the history) is excluded from the catalogue ranking.
    """
    rows = SequenceRows.from_rows(rows, model.config.num_items)
    was_training = model.training
    model.eval()
    catalogue, candidates = [], []
    for start in range(0, len(rows), batch_size):
        batch = rows.select(slice(start, start + batch_size)).to(model.device)
        logits = model(batch.history_item_ids, batch.history_lengths).logits
        catalogue.append(target_ranks(logits, batch.target_item_ids))
        if batch.candidate_item_ids is not None:
            candidates.append(candidate_ranks(logits, batch.candidate_item_ids, batch.target_item_ids))
    model.train(was_training)
    catalogue_ranks = torch.cat(catalogue)
    metrics = {}
    if candidates:
        candidate_rank = torch.cat(candidates)
        metrics = {
            "candidate_hr@1": hit_ratio_at_k(candidate_rank, 1),
            "candidate_mrr": mean_reciprocal_rank(candidate_rank),
        }
    metrics.update(
        {
            "catalogue_hr@10": hit_ratio_at_k(catalogue_ranks, 10),
            "catalogue_ndcg@10": ndcg_at_k(catalogue_ranks, 10),
            "catalogue_mrr": mean_reciprocal_rank(catalogue_ranks),
        }
    )
    return metrics


def train_recommender(
    recommender: str | dict | SequentialRecommenderConfig,
    train_rows: Iterable[Mapping] | SequenceRows,
    validation_rows: Iterable[Mapping] | SequenceRows,
    args: RecommenderTrainingArguments | None = None,
    num_items: int | None = None,
) -> tuple[SequentialRecommender, dict]:
    """Train a recommender with full-softmax cross-entropy, early-stopped on validation; save the best.

    Args:
        recommender: a model type (`"sasrec"`, `"gru4rec"`, `"caser"`), a config dict with its
            `model_type`, or a recommender config.
        train_rows: rows with `history_item_ids` and `target_item_id`.
        validation_rows: the same, plus `candidate_item_ids` when selecting on a `candidate_*` metric.
        args: the training arguments (defaults when None).
        num_items: the catalogue size; required with a model type, checked against a config's.

    Returns:
        The best model (in eval mode) and a summary: `best_epoch`, `epochs_run`, `train_seconds`, the
        best epoch's validation metrics under `validation` and each epoch's loss and metrics under
        `log_history`. With `args.output_dir`, the summary is saved beside the model as
        `recommender_training.json`.
    """
    args = args or RecommenderTrainingArguments()
    config = _resolve_config(recommender, num_items)
    train = SequenceRows.from_rows(train_rows, config.num_items)
    validation = SequenceRows.from_rows(validation_rows, config.num_items)
    if args.selection_metric.startswith("candidate_") and validation.candidate_item_ids is None:
        raise ValueError(
            f"selection_metric {args.selection_metric!r} needs candidate_item_ids in the validation rows; "
            "use a catalogue_* metric instead."
        )

    torch.manual_seed(args.seed)
    model = recommender_from_config(config).to(
        args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
    shuffler = torch.Generator().manual_seed(args.seed)
    steps_per_epoch = -(-len(train) // args.batch_size)
    best_score, best_epoch, best_state, best_metrics = -1.0, 0, None, {}
    started = time.perf_counter()
    progress = tqdm(
        total=args.num_epochs * steps_per_epoch,
        desc=f"Training {config.model_type}",
        disable=not args.show_progress,
    )
    log_history = []
    for epoch in range(1, args.num_epochs + 1):
        order = torch.randperm(len(train), generator=shuffler)
        loss = _train_epoch(model, optimizer, train, order, args.batch_size, progress)
        metrics = evaluate_recommender(model, validation, args.eval_batch_size)
        log_history.append({"epoch": epoch, "train_loss": loss, **metrics})
        if metrics[args.selection_metric] > best_score:
            best_score, best_epoch, best_metrics = metrics[args.selection_metric], epoch, metrics
            best_state = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
        progress.set_postfix(epoch=epoch, loss=f"{loss:.3f}", best=f"{best_score:.4f}@{best_epoch}")
        if epoch - best_epoch >= args.patience:
            break
    progress.close()
    model.load_state_dict(best_state)
    model.eval()
    summary = {
        "model_type": config.model_type,
        "best_epoch": best_epoch,
        "epochs_run": len(log_history),
        "train_seconds": time.perf_counter() - started,
        "selection_metric": args.selection_metric,
        "validation": best_metrics,
        "training_arguments": asdict(args),
        "log_history": log_history,
    }
    if args.output_dir is not None:
        save_recommender(model, args.output_dir, summary)
    return model, summary


def _train_epoch(
    model: SequentialRecommender,
    optimizer: torch.optim.Optimizer,
    train: SequenceRows,
    order: torch.Tensor,
    batch_size: int,
    progress: tqdm,
) -> float:
    """One pass over `train` in the given order; returns the mean training loss."""
    model.train()
    total = 0.0
    for start in range(0, len(train), batch_size):
        batch = train.select(order[start : start + batch_size]).to(model.device)
        loss = model(batch.history_item_ids, batch.history_lengths, labels=batch.target_item_ids).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(batch)
        progress.update()
    return total / len(train)


def save_recommender(
    model: SequentialRecommender, output_dir: str | os.PathLike, summary: dict | None = None
) -> None:
    """`save_pretrained` into a temporary folder next to `output_dir`, then move it in atomically.

    A missing `output_dir` appears whole in one rename; an existing one has each file replaced atomically,
    and keeps the files this does not write.
    """
    output_dir = os.path.abspath(output_dir)
    parent = os.path.dirname(output_dir)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(output_dir)}.tmp-", dir=parent)
    try:
        model.save_pretrained(staging)
        if summary is not None:
            write_training_summary(staging, summary)
        if not os.path.exists(output_dir):
            os.replace(staging, output_dir)
            return
        # The config goes last, so a reader never sees a new config beside old weights.
        names = sorted(os.listdir(staging), key=lambda name: name == "config.json")
        for name in names:
            os.replace(os.path.join(staging, name), os.path.join(output_dir, name))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_training_summary(output_dir: str | os.PathLike, summary: dict) -> str:
    """Write the training summary as `recommender_training.json` in `output_dir` atomically; return its path."""
    path = os.path.join(output_dir, TRAINING_SUMMARY_FILE)
    with open(f"{path}.tmp", "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    os.replace(f"{path}.tmp", path)
    return path


def _resolve_config(
    recommender: str | dict | SequentialRecommenderConfig, num_items: int | None
) -> SequentialRecommenderConfig:
    if isinstance(recommender, str):
        if num_items is None:
            raise ValueError(f"Give num_items (the catalogue size) to train a {recommender!r} recommender.")
        recommender = {"model_type": recommender}
    if isinstance(recommender, dict):
        if num_items is None and "num_items" not in recommender:
            raise ValueError("Give num_items (the catalogue size), in the config dict or as an argument.")
        if num_items is not None:
            recommender = {**recommender, "num_items": num_items}
    config = recommender_config_from_dict(recommender)
    if num_items is not None and config.num_items != num_items:
        raise ValueError(
            f"The recommender config has num_items={config.num_items} but the catalogue has {num_items} items."
        )
    return config
