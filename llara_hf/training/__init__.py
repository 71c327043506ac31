"""Training LLaRA: curriculum schedules, the two-form collator, `CurriculumSFTConfig` and `CurriculumSFTTrainer`."""

from .collator import LlaraCurriculumCollator, select_prompt_form
from .config import CurriculumSFTConfig
from .curriculum import CURRICULA, hybrid_probability, is_hybrid_step, trained_prompt_form
from .lora import PAPER_LORA_MODULES, language_model_lora_targets, paper_lora_config
from .trainer import CurriculumSFTTrainer

__all__ = [
    "CURRICULA",
    "PAPER_LORA_MODULES",
    "CurriculumSFTConfig",
    "CurriculumSFTTrainer",
    "LlaraCurriculumCollator",
    "hybrid_probability",
    "is_hybrid_step",
    "language_model_lora_targets",
    "paper_lora_config",
    "select_prompt_form",
    "trained_prompt_form",
]
