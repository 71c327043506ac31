"""`CurriculumSFTConfig`: TRL's `SFTConfig` plus the curriculum and LLaRA's evaluation settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from trl import SFTConfig

from .curriculum import CURRICULA

RECOMMENDATION_EVAL_PROTOCOLS = ("ranking", "paper", "none")


@dataclass
class CurriculumSFTConfig(SFTConfig):
    """Configuration of [`CurriculumSFTTrainer`].

    LLaRA batches carry item ids beside tokens, so `remove_unused_columns=False` and
    `dataset_kwargs={"skip_prepare_dataset": True}` are always set: the trainer's collator tokenises.
    """

    curriculum: str = field(
        default="linear",
        metadata={
            "help": "Prompt curriculum: 'linear' (the paper: a step is hybrid with probability step/total), "
            "'step' (text-only until curriculum_switch_fraction, then hybrid), 'cosine', 'hybrid' (always), "
            "'text' (never: the TALLRec-style baseline).",
            "choices": list(CURRICULA),
        },
    )
    curriculum_switch_fraction: float = field(
        default=0.5, metadata={"help": "Fraction of the run after which the 'step' curriculum is hybrid."}
    )
    curriculum_seed: int | None = field(
        default=None, metadata={"help": "Seed of the per-step decisions; defaults to `seed`."}
    )
    train_recommender: bool = field(
        default=False, metadata={"help": "Also train the sequential recommender (the paper keeps it frozen)."}
    )
    recommendation_eval_protocol: str = field(
        default="ranking",
        metadata={
            "help": "Recommendation metrics at each evaluation on the stored candidates: 'ranking' (likelihood "
            "ranking HR@1, fast), 'paper' (generation: HR@1 x ValidRatio, the paper's model selection) or 'none'.",
            "choices": list(RECOMMENDATION_EVAL_PROTOCOLS),
        },
    )
    recommendation_eval_rows: int | None = field(
        default=None,
        metadata={"help": "Evaluate recommendations on at most this many rows (all when unset)."},
    )

    def __post_init__(self):
        if self.curriculum not in CURRICULA:
            raise ValueError(f"curriculum must be one of {CURRICULA}, got {self.curriculum!r}.")
        if not 0.0 <= self.curriculum_switch_fraction <= 1.0:
            raise ValueError(
                f"curriculum_switch_fraction must be in [0, 1], got {self.curriculum_switch_fraction}."
            )
        if self.recommendation_eval_protocol not in RECOMMENDATION_EVAL_PROTOCOLS:
            raise ValueError(
                f"recommendation_eval_protocol must be one of {RECOMMENDATION_EVAL_PROTOCOLS}, "
                f"got {self.recommendation_eval_protocol!r}."
            )
        self.remove_unused_columns = False
        super().__post_init__()
        self.dataset_kwargs = {**(self.dataset_kwargs or {}), "skip_prepare_dataset": True}
        if self.curriculum_seed is None:
            self.curriculum_seed = self.seed
