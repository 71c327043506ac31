"""The paper's reading of a generated answer, and its HR@1 and ValidRatio.

LLaRA's evaluation (`model_interface.py`, `calculate_hr1`) keeps the first line of the stripped
generation; an answer is valid when exactly one candidate title occurs in it (lower-cased substring, each
title and the answer stripped), and correct when that title is the target's. Its HR@1 divides the
correct answers by the *valid* ones, so an invalid answer costs nothing; `strict_hr@1` divides by all rows.
Titles that contain another candidate's title ("Alien" in "Aliens") make an answer naming the longer one
invalid, as in the paper.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def first_line(generated: str) -> str:
    """The paper's answer: the generated text, stripped, up to its first newline."""
    return generated.strip().split("\n")[0]


def matched_candidates(answer: str, candidate_titles: Sequence[str]) -> list[int]:
    """Indices of the candidates whose title occurs in the answer (lower-cased substring, stripped)."""
    answer = answer.strip().lower()
    return [index for index, title in enumerate(candidate_titles) if title.strip().lower() in answer]


@dataclass
class JudgedAnswer:
    """One generated answer as the paper reads it.

    Args:
        answer: the first line of the generation.
        matched: indices of the candidates named in it.
        predicted: the one candidate named, when valid, else None.
        valid: exactly one candidate is named.
        correct: that candidate is the target.
    """

    answer: str
    matched: list[int]
    predicted: int | None
    valid: bool
    correct: bool


def judge_answer(generated: str, candidate_titles: Sequence[str], target_index: int) -> JudgedAnswer:
    """Read a generation the paper's way against its row's candidates and target index."""
    answer = first_line(generated)
    matched = matched_candidates(answer, candidate_titles)
    valid = len(matched) == 1
    predicted = matched[0] if valid else None
    return JudgedAnswer(answer, matched, predicted, valid, valid and predicted == target_index)


def paper_metrics(valid: Sequence[bool], correct: Sequence[bool]) -> dict[str, float]:
    """`valid_ratio` (valid / total), `hr@1` (correct / valid, the paper's; 0 without a valid answer) and
    `strict_hr@1` (correct / total)."""
    if len(valid) != len(correct):
        raise ValueError(f"{len(valid)} validity flags but {len(correct)} correctness flags.")
    if not valid:
        raise ValueError("No answers to score: evaluate at least one row.")
    if any(is_correct and not is_valid for is_valid, is_correct in zip(valid, correct, strict=True)):
        raise ValueError("An answer is marked correct but not valid: only a valid answer can be correct.")
    num_valid, num_correct = sum(map(bool, valid)), sum(map(bool, correct))
    return {
        "valid_ratio": num_valid / len(valid),
        "hr@1": num_correct / num_valid if num_valid else 0.0,
        "strict_hr@1": num_correct / len(valid),
    }
