"""LoRA settings of the paper, aimed at the language model only."""

from __future__ import annotations

from peft import LoraConfig
from torch import nn

PAPER_LORA_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def paper_lora_config(r: int = 8, lora_alpha: int = 32, lora_dropout: float = 0.1, **kwargs) -> LoraConfig:
    """The paper's LoRA (r 8, alpha 32, dropout 0.1); the trainer aims it at the language model's projections."""
    return LoraConfig(task_type="CAUSAL_LM", r=r, lora_alpha=lora_alpha, lora_dropout=lora_dropout, **kwargs)


def language_model_lora_targets(model: nn.Module) -> list[str]:
    """Full names of the language model's attention and MLP projections (or, for families that name them
    otherwise, all its linear layers), so that LoRA never touches the projector or the recommender."""
    language_model = model.get_submodule("model.language_model")
    linear_names = [
        name
        for name, module in language_model.named_modules()
        if isinstance(module, nn.Linear) or type(module).__name__ == "Conv1D"
    ]
    paper_names = [name for name in linear_names if name.rsplit(".", 1)[-1] in PAPER_LORA_MODULES]
    return [f"model.language_model.{name}" for name in (paper_names or linear_names)]
