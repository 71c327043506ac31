"""Ranking metrics shared by the recommenders and the LLM evaluation (llara_hf/metrics.py)."""

import ast
import math
from pathlib import Path

import pytest
import torch

from llara_hf import metrics
from llara_hf.metrics import (
    candidate_positions,
    candidate_ranks,
    hit_ratio_at_k,
    mean_reciprocal_rank,
    ndcg_at_k,
    rank_in_ranking,
    ranking_metrics,
    target_ranks,
)


def test_target_rank_counts_higher_scores():
    scores = torch.tensor([[3.0, 1.0, 2.0], [0.1, 0.2, 0.3]])
    assert target_ranks(scores, torch.tensor([2, 2])).tolist() == [1, 0]
    assert target_ranks(scores, [0, 0]).tolist() == [0, 2]


def test_ties_count_against_the_target():
    assert target_ranks(torch.ones(1, 5), [0]).tolist() == [4]
    assert target_ranks(torch.tensor([[2.0, 1.0, 2.0, 3.0]]), [0]).tolist() == [2]
    assert target_ranks(torch.tensor([[2.0, 1.0, 2.0, 3.0]]), [2]).tolist() == [2]


def test_nan_scores_rank_lowest():
    scores = torch.tensor([[float("nan"), 1.0, 0.5]])
    assert target_ranks(scores, [0]).tolist() == [2]
    assert target_ranks(scores, [2]).tolist() == [1]


def test_metrics_of_known_ranks():
    ranks = [0, 1, 4, None]
    assert hit_ratio_at_k(ranks, 1) == pytest.approx(0.25)
    assert hit_ratio_at_k(ranks, 5) == pytest.approx(0.75)
    assert ndcg_at_k(ranks, 5) == pytest.approx((1 + 1 / math.log2(3) + 1 / math.log2(6)) / 4)
    assert ndcg_at_k(ranks, 2) == pytest.approx((1 + 1 / math.log2(3)) / 4)
    assert mean_reciprocal_rank(ranks) == pytest.approx((1 + 0.5 + 0.2) / 4)
    assert hit_ratio_at_k(torch.tensor([0, 1, 4]), 2) == pytest.approx(2 / 3)


def test_ranking_metrics_names_every_metric():
    result = ranking_metrics([0, 2], hit_ks=(1, 3), ndcg_ks=(3,), prefix="test_")
    assert result == pytest.approx(
        {"test_hr@1": 0.5, "test_hr@3": 1.0, "test_ndcg@3": (1 + 0.5) / 2, "test_mrr": (1 + 1 / 3) / 2}
    )


def test_candidate_ranks_read_item_scores_at_the_candidates():
    item_scores = torch.tensor([[0.0, 5.0, 1.0, 4.0, 3.0, 2.0]])
    candidates = torch.tensor([[2, 4, 3]])
    assert candidate_positions(candidates, [4]).tolist() == [1]
    assert candidate_ranks(item_scores, candidates, [4]).tolist() == [1]
    assert candidate_ranks(item_scores, candidates, [3]).tolist() == [0]
    assert candidate_ranks(item_scores, candidates, [2]).tolist() == [2]


def test_rank_in_an_ordered_ranking():
    assert rank_in_ranking(["Heat", "Alien", "Fargo"], "Fargo") == 2
    assert rank_in_ranking([7, 3], 7) == 0
    assert rank_in_ranking(["Heat"], "Fargo") is None


def test_bad_inputs_name_the_problem():
    with pytest.raises(ValueError, match="Target index 3 in row 0"):
        target_ranks(torch.zeros(1, 3), [3])
    with pytest.raises(ValueError, match="2 targets for 1 rows"):
        target_ranks(torch.zeros(1, 3), [0, 1])
    with pytest.raises(ValueError, match="target 9 is not among its candidates"):
        candidate_positions([[1, 2]], [9])
    with pytest.raises(ValueError, match="k must be at least 1"):
        hit_ratio_at_k([0], 0)
    with pytest.raises(ValueError, match="No ranks"):
        mean_reciprocal_rank([])


def test_metrics_module_imports_nothing_from_the_package():
    tree = ast.parse(Path(metrics.__file__).read_text())
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    relative = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level]
    assert not relative and not any(name.startswith("llara_hf") for name in imported)
