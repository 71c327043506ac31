"""The four evaluation protocols: each turns dataset rows into per-row predictions, and `protocol_metrics`
reads a protocol's metrics off its predictions.

- `paper`: greedy generation, read as the paper does (`answers`): ValidRatio, HR@1 (correct / valid, the
  paper's) and strict HR@1 (correct / all rows).
- `ranking`: every stored candidate scored by likelihood (`candidate_scoring`): a full ranking, so HR@1/3/5,
  NDCG@3/5/10 and MRR, valid by construction.
- `constrained`: greedy generation that can only spell a candidate's answer: HR@1, valid by construction.
- `full`: the recommender retrieves its top `num_retrieved` items of the whole catalogue (history
  excluded), the LLM reranks them; HR@1/5/10 and NDCG@10 over the catalogue (a target not retrieved is
  a miss), beside the recommender's own numbers on the same rows (`recommender_*`) and the retrieval's
  recall.

Ranks count ties against the target (`metrics.target_ranks`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import torch
from tqdm.auto import tqdm

from ..candidate_scoring import encode_rows, score_candidate_prompts
from ..metrics import ranking_metrics, target_ranks
from ..recommendation import catalogue_scores, retrieve
from .answers import judge_answer, paper_metrics
from .generation import PAPER_MAX_NEW_TOKENS, generate_answers, generate_constrained

PROTOCOLS = ("paper", "ranking", "constrained", "full")
Prediction = dict
RANKING_HIT_KS, RANKING_NDCG_KS = (1, 3, 5), (3, 5, 10)
FULL_HIT_KS, FULL_NDCG_KS = (1, 5, 10), (10,)


def batched(
    rows: Sequence[Mapping], batch_size: int, description: str, show_progress: bool
) -> Iterator[tuple[int, Sequence[Mapping]]]:
    """`(first row index, rows)` batches, advancing a progress bar after each."""
    with tqdm(total=len(rows), desc=description, unit="row", disable=not show_progress) as bar:
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            yield start, batch
            bar.update(len(batch))


def candidate_targets(rows: Sequence[Mapping]) -> list[int]:
    """Each row's target index among its candidates; an error names a row whose target is not one."""
    targets = []
    for index, row in enumerate(rows):
        candidates = [int(item) for item in row["candidate_item_ids"]]
        target = int(row["target_item_id"])
        if target not in candidates:
            raise ValueError(
                f"Row {index}'s target {target} is not among its candidates {candidates}: the paper, ranking "
                "and constrained protocols choose among stored candidates; use the full protocol otherwise."
            )
        targets.append(candidates.index(target))
    return targets


def row_record(index: int, row: Mapping) -> Prediction:
    return {
        "row": index,
        "target_item_id": int(row["target_item_id"]),
        "candidate_item_ids": [int(item) for item in row["candidate_item_ids"]],
    }


def paper_protocol(
    model,
    processor,
    rows: Sequence[Mapping],
    hybrid: bool,
    batch_size: int,
    show_progress: bool = True,
    max_new_tokens: int = PAPER_MAX_NEW_TOKENS,
) -> list[Prediction]:
    """Generate freely and read the first line the paper's way."""
    targets = candidate_targets(rows)
    predictions = []
    for start, batch in batched(rows, batch_size, "paper protocol", show_progress):
        generations = generate_answers(model, processor, batch, hybrid, max_new_tokens)
        for offset, (row, generated) in enumerate(zip(batch, generations, strict=True)):
            candidates = [int(item) for item in row["candidate_item_ids"]]
            judged = judge_answer(
                generated, processor.catalogue.titles_of(candidates), targets[start + offset]
            )
            predictions.append(
                {
                    **row_record(start + offset, row),
                    "generation": generated,
                    "answer": judged.answer,
                    "matched_item_ids": [candidates[index] for index in judged.matched],
                    "predicted_item_id": None if judged.predicted is None else candidates[judged.predicted],
                    "valid": judged.valid,
                    "correct": judged.correct,
                }
            )
    return predictions


def ranked(item_ids: Sequence[int], scores: Sequence[float]) -> list[int]:
    """Items by decreasing score; equal scores keep their listed order."""
    return [item_ids[index] for index in sorted(range(len(item_ids)), key=lambda index: -scores[index])]


def ranking_protocol(
    model, processor, rows: Sequence[Mapping], hybrid: bool, batch_size: int, show_progress: bool = True
) -> list[Prediction]:
    """Score every candidate by likelihood and rank them."""
    targets = candidate_targets(rows)
    predictions = []
    for start, batch in batched(rows, batch_size, "likelihood ranking", show_progress):
        prompts = encode_rows(processor, batch, hybrid)
        batch_scores = score_candidate_prompts(model, prompts, processor.tokenizer.pad_token_id)
        for offset, (row, scores) in enumerate(zip(batch, batch_scores, strict=True)):
            target = targets[start + offset]
            record = row_record(start + offset, row)
            predictions.append(
                {
                    **record,
                    "scores": scores.tolist(),
                    "ranked_item_ids": ranked(record["candidate_item_ids"], scores.tolist()),
                    "target_rank": int(target_ranks(scores.unsqueeze(0), [target])[0]),
                }
            )
    return predictions


def constrained_protocol(
    model, processor, rows: Sequence[Mapping], hybrid: bool, batch_size: int, show_progress: bool = True
) -> list[Prediction]:
    """Generate greedily within the candidates' answers."""
    targets = candidate_targets(rows)
    predictions = []
    for start, batch in batched(rows, batch_size, "constrained decoding", show_progress):
        for offset, (row, (index, answer)) in enumerate(
            zip(batch, generate_constrained(model, processor, batch, hybrid), strict=True)
        ):
            record = row_record(start + offset, row)
            predictions.append(
                {
                    **record,
                    "answer": answer,
                    "predicted_item_id": None if index is None else record["candidate_item_ids"][index],
                    "valid": index is not None,
                    "correct": index == targets[start + offset],
                }
            )
    return predictions


def full_protocol(
    model,
    processor,
    rows: Sequence[Mapping],
    hybrid: bool,
    batch_size: int,
    show_progress: bool = True,
    num_retrieved: int = 20,
    seed: int = 0,
) -> list[Prediction]:
    """Retrieve from the whole catalogue with the recommender, rerank with the LLM."""
    if num_retrieved < max(FULL_HIT_KS + FULL_NDCG_KS):
        raise ValueError(
            f"num_retrieved={num_retrieved} is below {max(FULL_HIT_KS + FULL_NDCG_KS)}, the deepest cut-off "
            "the full protocol reports (HR@10, NDCG@10): retrieve at least that many."
        )
    generator = torch.Generator().manual_seed(seed)
    predictions = []
    for start, batch in batched(rows, batch_size, "retrieve and rerank", show_progress):
        histories = [[int(item) for item in row["history_item_ids"]] for row in batch]
        targets = [int(row["target_item_id"]) for row in batch]
        scores = catalogue_scores(model, histories)
        recommender_ranks = target_ranks(scores, targets).tolist()
        retrieved = retrieve(scores, num_retrieved, generator).tolist()
        reranking = [
            {
                "history_item_ids": history,
                "candidate_item_ids": items,
                "template_id": row.get("template_id") or 0,
            }
            for history, items, row in zip(histories, retrieved, batch, strict=True)
        ]
        prompts = encode_rows(processor, reranking, hybrid)
        llm_scores = score_candidate_prompts(model, prompts, processor.tokenizer.pad_token_id)
        for offset, (items, row_scores) in enumerate(zip(retrieved, llm_scores, strict=True)):
            target = targets[offset]
            rank = (
                int(target_ranks(row_scores.unsqueeze(0), [items.index(target)])[0])
                if target in items
                else None
            )
            predictions.append(
                {
                    "row": start + offset,
                    "target_item_id": target,
                    "retrieved_item_ids": items,
                    "scores": row_scores.tolist(),
                    "ranked_item_ids": ranked(items, row_scores.tolist()),
                    "target_rank": rank,
                    "recommender_rank": recommender_ranks[offset],
                }
            )
    return predictions


def protocol_metrics(protocol: str, predictions: Sequence[Prediction]) -> dict[str, float]:
    """A protocol's metrics, computed from its per-row predictions alone (as `predictions.jsonl` holds them)."""
    if not predictions:
        raise ValueError("No predictions to score: evaluate at least one row.")
    if protocol in ("paper", "constrained"):
        return paper_metrics([p["valid"] for p in predictions], [p["correct"] for p in predictions])
    ranks = [p["target_rank"] for p in predictions]
    if protocol == "ranking":
        return {"valid_ratio": 1.0, **ranking_metrics(ranks, RANKING_HIT_KS, RANKING_NDCG_KS)}
    if protocol != "full":
        raise ValueError(f"Unknown protocol {protocol!r}: use one of {list(PROTOCOLS)}.")
    metrics = ranking_metrics(ranks, FULL_HIT_KS, FULL_NDCG_KS)
    recommender_ranks = [p["recommender_rank"] for p in predictions]
    metrics.update(ranking_metrics(recommender_ranks, FULL_HIT_KS, FULL_NDCG_KS, "recommender_"))
    num_retrieved = len(predictions[0]["retrieved_item_ids"])
    metrics[f"retrieval_recall@{num_retrieved}"] = sum(rank is not None for rank in ranks) / len(ranks)
    return metrics
