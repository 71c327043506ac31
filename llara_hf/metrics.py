"""Ranking metrics shared by the recommenders' trainer and the LLM evaluation.

Everything starts from the 0-based rank of each row's target: `target_ranks(scores, targets)` computes it
from a `(rows, choices)` score matrix (the 20 stored candidates, or the whole catalogue), and
`rank_in_ranking` from an ordered list such as an LLM's answer. The metrics then read ranks only, so a
target that was not ranked at all (an LLM answer that leaves it out) is a rank of `None`: a miss
everywhere, and 0 reciprocal rank.

Ties count against the target (pessimistic): its rank is the number of other choices scoring at least
as high. A model that scores everything alike therefore ranks every target last, never first. NaN
scores count as the lowest possible score.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence

import torch

Ranks = torch.Tensor | Sequence[int | None]


def target_ranks(scores: torch.Tensor, targets: torch.Tensor | Sequence[int]) -> torch.LongTensor:
    """0-based rank of `scores[i, targets[i]]` within row `i`, ties counted against the target.

    Args:
        scores: `(rows, choices)` scores, higher is better (candidate scores or full-catalogue logits).
        targets: `(rows,)` index of each row's target among its choices.
    """
    if scores.dim() != 2:
        raise ValueError(f"scores must be (rows, choices), got shape {tuple(scores.shape)}.")
    targets = torch.as_tensor(targets, dtype=torch.long, device=scores.device).reshape(-1)
    if targets.shape[0] != scores.shape[0]:
        raise ValueError(f"{targets.shape[0]} targets for {scores.shape[0]} rows of scores.")
    outside = (targets < 0) | (targets >= scores.shape[1])
    if bool(outside.any()):
        row = int(torch.nonzero(outside)[0, 0])
        raise ValueError(
            f"Target index {int(targets[row])} in row {row} is outside the {scores.shape[1]} choices."
        )
    scores = torch.nan_to_num(scores.float(), nan=-math.inf)
    target_scores = scores.gather(1, targets.unsqueeze(1))
    return (scores >= target_scores).sum(1) - 1


def candidate_positions(
    candidate_ids: torch.Tensor | Sequence[Sequence[int]], target_ids: torch.Tensor | Sequence[int]
) -> torch.LongTensor:
    """Index of each row's target item among its candidate items; an error names a row without it."""
    candidate_ids = torch.as_tensor(candidate_ids, dtype=torch.long)
    target_ids = torch.as_tensor(target_ids, dtype=torch.long, device=candidate_ids.device).reshape(-1, 1)
    if candidate_ids.dim() != 2 or candidate_ids.shape[0] != target_ids.shape[0]:
        raise ValueError(
            f"candidate_ids must be (rows, candidates) with one row per target, got shape "
            f"{tuple(candidate_ids.shape)} for {target_ids.shape[0]} targets."
        )
    matches = candidate_ids == target_ids
    missing = ~matches.any(1)
    if bool(missing.any()):
        row = int(torch.nonzero(missing)[0, 0])
        raise ValueError(f"Row {row}'s target {int(target_ids[row])} is not among its candidates.")
    return matches.int().argmax(1)


def candidate_ranks(
    item_scores: torch.Tensor,
    candidate_ids: torch.Tensor | Sequence[Sequence[int]],
    target_ids: torch.Tensor | Sequence[int],
) -> torch.LongTensor:
    """0-based rank of each target among its row's candidates, from `(rows, num_items)` item scores."""
    candidate_ids = torch.as_tensor(candidate_ids, dtype=torch.long, device=item_scores.device)
    return target_ranks(item_scores.gather(1, candidate_ids), candidate_positions(candidate_ids, target_ids))


def rank_in_ranking(ranking: Iterable[Hashable], target: Hashable) -> int | None:
    """0-based position of `target` in an ordered ranking (best first), or None when it is absent."""
    for position, choice in enumerate(ranking):
        if choice == target:
            return position
    return None


def hit_ratio_at_k(ranks: Ranks, k: int) -> float:
    """Share of rows whose target ranks among the top `k`."""
    ranks = _as_rank_tensor(ranks, k)
    return float((ranks < k).float().mean())


def ndcg_at_k(ranks: Ranks, k: int) -> float:
    """Mean NDCG@k with one relevant item per row: `1 / log2(rank + 2)` inside the top `k`, else 0."""
    ranks = _as_rank_tensor(ranks, k)
    gains = torch.where(ranks < k, 1.0 / torch.log2(ranks.clamp(max=k) + 2.0), torch.zeros_like(ranks))
    return float(gains.mean())


def mean_reciprocal_rank(ranks: Ranks) -> float:
    """Mean of `1 / (rank + 1)`; an unranked target contributes 0."""
    return float((1.0 / (_as_rank_tensor(ranks) + 1.0)).mean())


def ranking_metrics(
    ranks: Ranks, hit_ks: Sequence[int] = (1, 3, 5, 10), ndcg_ks: Sequence[int] = (3, 5, 10), prefix: str = ""
) -> dict[str, float]:
    """`{prefix}hr@k`, `{prefix}ndcg@k` and `{prefix}mrr` of the given ranks, as plain floats."""
    ranks = _as_rank_tensor(ranks)
    metrics = {f"{prefix}hr@{k}": hit_ratio_at_k(ranks, k) for k in hit_ks}
    metrics.update({f"{prefix}ndcg@{k}": ndcg_at_k(ranks, k) for k in ndcg_ks})
    metrics[f"{prefix}mrr"] = mean_reciprocal_rank(ranks)
    return metrics


def _as_rank_tensor(ranks: Ranks, k: int | None = None) -> torch.Tensor:
    """Ranks as a float tensor with `inf` for unranked targets; checks `k` and that there is a row."""
    if k is not None and k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    if isinstance(ranks, torch.Tensor):
        ranks = ranks.detach().float().reshape(-1)
    else:
        ranks = torch.tensor([math.inf if rank is None else float(rank) for rank in ranks])
    if ranks.numel() == 0:
        raise ValueError("No ranks to average: evaluate at least one row.")
    if bool((ranks < 0).any()):
        raise ValueError(f"Ranks are 0-based and non-negative, got {float(ranks.min())}.")
    return ranks
