"""Curriculum prompt tuning: for each optimisation step, whether its batch uses hybrid or text-only prompts.

The paper makes a batch hybrid with probability `step / total_steps`. Here each step's decision is a pure
function of `(schedule, step, total_steps, seed)`, so it is exact per optimisation step and the same in
every process, DataLoader worker, accumulation micro-batch and resumed run.
"""

from __future__ import annotations

import math
import random

CURRICULA = ("linear", "step", "cosine", "hybrid", "text")


def trained_prompt_form(curriculum: str) -> str:
    """The prompt form a model trained with `curriculum` reads at inference (`LlaraConfig.prompt_form`):
    every curriculum ends on hybrid prompts except `text`."""
    if curriculum not in CURRICULA:
        raise ValueError(f"Unknown curriculum {curriculum!r}: use one of {CURRICULA}.")
    return "text" if curriculum == "text" else "hybrid"


def hybrid_probability(curriculum: str, step: int, total_steps: int, switch_fraction: float = 0.5) -> float:
    """Probability that optimisation step `step` (0-based) of `total_steps` is hybrid.

    `linear`: step / total_steps (the paper). `step`: 0 before `switch_fraction` of the run, then 1.
    `cosine`: rises from 0 to 1 along half a cosine. `hybrid`: always 1. `text`: always 0.
    """
    if curriculum not in CURRICULA:
        raise ValueError(f"Unknown curriculum {curriculum!r}: use one of {CURRICULA}.")
    if total_steps < 1:
        raise ValueError(f"total_steps must be positive, got {total_steps}.")
    progress = min(max(step / total_steps, 0.0), 1.0)
    if curriculum == "linear":
        return progress
    if curriculum == "step":
        return float(progress >= switch_fraction)
    if curriculum == "cosine":
        return (1.0 - math.cos(math.pi * progress)) / 2.0
    return 1.0 if curriculum == "hybrid" else 0.0


def is_hybrid_step(
    curriculum: str, step: int, total_steps: int, seed: int, switch_fraction: float = 0.5
) -> bool:
    """The seeded decision for one optimisation step."""
    probability = hybrid_probability(curriculum, step, total_steps, switch_fraction)
    if probability in (0.0, 1.0):
        return probability == 1.0
    return random.Random(f"llara-curriculum-{seed}-{step}").random() < probability
