"""Recommendations from a LLaRA model: rank given candidates, or retrieve then rerank the whole catalogue.

Two stages without candidates: the model's sequential recommender scores every catalogue item after the
history (history items excluded) and keeps its top `num_retrieved`; the LLM then ranks those by
likelihood (`candidate_scoring`). The retrieved items are listed in the prompt in a seeded random
order, as training lists candidates, so their position says nothing about the recommender's ranking.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .candidate_scoring import score_candidates


@torch.no_grad()
def catalogue_scores(model, histories: Sequence[Sequence[int]], exclude_history: bool = True) -> torch.Tensor:
    """The recommender's scores of every item after each history, `(rows, num_items)`, on the CPU.

    With `exclude_history` the items of a history score `-inf` in its row. Put the model in eval mode first.
    """
    if not histories or any(len(history) == 0 for history in histories):
        raise ValueError("Empty history: the recommender needs at least one past item per row.")
    recommender = model.model.recommender
    device = recommender.item_embedding.weight.device
    lengths = torch.tensor([len(history) for history in histories])
    history_ids = torch.zeros((len(histories), int(lengths.max())), dtype=torch.long)
    for row, history in enumerate(histories):
        history_ids[row, : len(history)] = torch.as_tensor(list(history), dtype=torch.long)
    scores = recommender(history_ids.to(device), lengths.to(device)).logits.float().cpu()
    if exclude_history:
        for row, history in enumerate(histories):
            scores[row, torch.as_tensor(list(history), dtype=torch.long)] = -torch.inf
    return scores


def retrieve(
    scores: torch.Tensor, num_retrieved: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Each row's `num_retrieved` best items, `(rows, num_retrieved)`, in a random order drawn from `generator`.

    Items scoring `-inf` (a history's own, in `catalogue_scores`) are never retrieved.
    """
    if num_retrieved < 1:
        raise ValueError(f"num_retrieved must be at least 1, got {num_retrieved}.")
    available = torch.isfinite(scores).sum(1)
    if bool((available < num_retrieved).any()):
        row = int(torch.nonzero(available < num_retrieved)[0, 0])
        raise ValueError(
            f"Row {row} has only {int(available[row])} items outside its history, fewer than "
            f"num_retrieved={num_retrieved}: retrieve fewer items."
        )
    top = scores.topk(num_retrieved, dim=1).indices
    order = torch.stack([torch.randperm(num_retrieved, generator=generator) for _ in range(len(scores))])
    return top.gather(1, order)


def default_processor(model):
    """The processor saved beside the model (`LlaraProcessor.from_pretrained(model.name_or_path)`), cached."""
    processor = getattr(model, "_llara_processor", None)
    if processor is None:
        from .processing_llara import LlaraProcessor

        processor = LlaraProcessor.from_pretrained(model.name_or_path)
        model._llara_processor = processor
    return processor


def recommend(
    model,
    history: Sequence[int],
    candidates: Sequence[int] | None = None,
    top_k: int = 10,
    processor=None,
    prompt_form: str | None = None,
    num_retrieved: int = 20,
    template_id: int = 0,
    seed: int = 0,
) -> list[tuple[int, str, float]]:
    """Rank `candidates` for a history by likelihood, best first, as `(item_id, title, score)`.

    Args:
        model: a `LlaraForRecommendation`.
        history: the user's past item ids, oldest first.
        candidates: item ids to rank; None retrieves `num_retrieved` items from the whole catalogue with
            the model's recommender (history excluded) and ranks those.
        top_k: how many to return (at most the number of candidates).
        processor: the model's `LlaraProcessor`; by default the one saved with the model.
        prompt_form: `"hybrid"` or `"text"`; by default `model.config.prompt_form`.
        num_retrieved: how many items the recommender retrieves when no candidates are given (at most
            the items outside the history).
        template_id: which prompt template to use.
        seed: seeds the order in which retrieved items are listed in the prompt.

    The score is the answer's log-likelihood: the sum of its tokens' log-probabilities.
    """
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}.")
    processor = processor if processor is not None else default_processor(model)
    history = processor.catalogue.check_ids(history, "history item")
    was_training = model.training
    model.eval()
    try:
        if candidates is None:
            retrieval_scores = catalogue_scores(model, [history])
            generator = torch.Generator().manual_seed(seed)
            available = processor.catalogue.num_items - len(set(history))
            candidates = retrieve(retrieval_scores, min(num_retrieved, available), generator)[0].tolist()
        candidates = processor.catalogue.check_ids(candidates, "candidate item")
        row = {"history_item_ids": history, "candidate_item_ids": candidates, "template_id": template_id}
        scores = score_candidates(model, processor, [row], prompt_form=prompt_form)[0].tolist()
    finally:
        model.train(was_training)
    order = sorted(range(len(candidates)), key=lambda index: -scores[index])
    return [(candidates[i], processor.catalogue.titles[candidates[i]], scores[i]) for i in order[:top_k]]


__all__ = ["catalogue_scores", "default_processor", "recommend", "retrieve"]
