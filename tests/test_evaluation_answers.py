"""The paper's answer reading and metrics, and the ranking protocol's tie handling, on hand-made cases."""

import pytest
import torch

from llara_hf.evaluation import first_line, judge_answer, matched_candidates, paper_metrics
from llara_hf.evaluation.protocols import ranked
from llara_hf.metrics import ranking_metrics, target_ranks

TITLES = ["Toy Story", "Heat", "Casino", "Babe"]


def test_first_line_strips_then_cuts_at_the_first_newline():
    assert first_line("  \n Casino \nHeat\n") == "Casino "
    assert first_line("Casino") == "Casino"
    assert first_line("\n\n") == ""


def test_an_answer_naming_one_candidate_is_valid_case_insensitively():
    judged = judge_answer("I recommend CASINO.", TITLES, target_index=2)
    assert (judged.matched, judged.predicted, judged.valid, judged.correct) == ([2], 2, True, True)
    wrong = judge_answer("casino", TITLES, target_index=1)
    assert wrong.valid and not wrong.correct


def test_an_answer_naming_two_candidates_is_invalid():
    judged = judge_answer("Heat or Casino", TITLES, target_index=1)
    assert judged.matched == [1, 2]
    assert (judged.predicted, judged.valid, judged.correct) == (None, False, False)


def test_an_answer_naming_no_candidate_is_invalid():
    judged = judge_answer("The Godfather", TITLES, target_index=0)
    assert (judged.matched, judged.valid, judged.correct) == ([], False, False)


def test_only_the_first_line_counts():
    assert not judge_answer("\nNo idea\nHeat", TITLES, target_index=1).valid
    assert judge_answer("\n  Heat\nCasino, Babe", TITLES, target_index=1).correct


def test_a_title_inside_another_makes_the_longer_answer_invalid_as_in_the_paper():
    assert matched_candidates("Aliens", ["Alien", "Aliens", "Heat"]) == [0, 1]
    assert matched_candidates("Alien", ["Alien", "Aliens", "Heat"]) == [0]


def test_paper_hr1_divides_by_valid_answers_and_strict_hr1_by_all():
    valid = [True, True, False, False]
    correct = [True, False, False, False]
    assert paper_metrics(valid, correct) == {"valid_ratio": 0.5, "hr@1": 0.5, "strict_hr@1": 0.25}
    assert paper_metrics([False, False], [False, False]) == {
        "valid_ratio": 0.0,
        "hr@1": 0.0,
        "strict_hr@1": 0.0,
    }


def test_paper_metrics_reject_inconsistent_flags():
    with pytest.raises(ValueError, match="correct but not valid"):
        paper_metrics([False], [True])
    with pytest.raises(ValueError, match="validity flags"):
        paper_metrics([True], [True, False])
    with pytest.raises(ValueError, match="at least one row"):
        paper_metrics([], [])


def test_ranking_ties_are_broken_deterministically():
    scores = [-1.0, -2.0, -1.0, -3.0]
    assert ranked([10, 11, 12, 13], scores) == [10, 12, 11, 13]
    # Metrics count a tie against the target, whichever of the tied items it is.
    assert target_ranks(torch.tensor([scores]), [0]).tolist() == [1]
    assert target_ranks(torch.tensor([scores]), [2]).tolist() == [1]


def test_a_perfect_ranking_has_ndcg_and_hit_ratio_one():
    metrics = ranking_metrics([0, 0, 0], hit_ks=(1, 3, 5), ndcg_ks=(3, 5, 10))
    assert all(value == pytest.approx(1.0) for value in metrics.values())
