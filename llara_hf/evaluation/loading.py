"""Load what `llara evaluate` and `llara recommend` run: a trained LLaRA model, or any causal LM zero-shot."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from ..backbones import DEFAULT_BACKBONE
from ..item_catalogue import ItemCatalogue


def is_llara_model(name_or_path: str | os.PathLike) -> bool:
    """Whether a folder or Hub id holds a saved `LlaraForRecommendation` (its config's `model_type`)."""
    name = str(name_or_path)
    if name == DEFAULT_BACKBONE or Path(name).suffix == ".gguf":
        return False
    config_file = Path(name) / "config.json"
    if Path(name).is_dir():
        if not config_file.is_file():
            return False
        with open(config_file, encoding="utf-8") as handle:
            return json.load(handle).get("model_type") == "llara"
    from transformers import PreTrainedConfig

    config_dict, _ = PreTrainedConfig.get_config_dict(name)
    return config_dict.get("model_type") == "llara"


def load_model_and_processor(
    name_or_path: str | os.PathLike,
    catalogue: ItemCatalogue | None = None,
    recommender: str | os.PathLike | None = None,
    templates: str | Sequence[str] = "movie",
    dtype: torch.dtype | str | None = None,
    device: str | torch.device | None = None,
):
    """A `(LlaraForRecommendation, LlaraProcessor)` pair in eval mode.

    A saved LLaRA model loads with the processor saved beside it (`catalogue`, when given, must be the
    one it was trained on). Anything else (`"default"`, a causal LM's Hub id, folder or `.gguf` file) is
    wrapped zero-shot with `from_backbone` around `catalogue` (required then) and the dataset's prompt
    `templates`, prompting with titles only; `recommender` (a trained recommender's folder or Hub id)
    serves the full protocol's retrieval.
    """
    from ..modeling_llara import LlaraForRecommendation
    from ..processing_llara import LlaraProcessor

    if is_llara_model(name_or_path):
        if recommender is not None:
            raise ValueError(
                f"{name_or_path} is a trained LLaRA model with its own recommender: drop --recommender."
            )
        processor = LlaraProcessor.from_pretrained(name_or_path)
        if catalogue is not None and catalogue.titles != processor.catalogue.titles:
            raise ValueError(
                f"{name_or_path} was trained on a catalogue of {processor.catalogue.num_items} items that differs "
                f"from the dataset's ({catalogue.num_items} items): evaluate it on the dataset it was trained on."
            )
        model = LlaraForRecommendation.from_pretrained(name_or_path, dtype=dtype)
    else:
        if catalogue is None:
            raise ValueError(
                f"{name_or_path} is a plain causal LM: give the item catalogue (a --dataset and --data-dir) "
                "so that it can be prompted with item titles."
            )
        processor = LlaraProcessor.from_backbone(name_or_path, catalogue, templates=templates)
        model = LlaraForRecommendation.from_backbone(
            name_or_path,
            recommender=recommender,
            num_items=catalogue.num_items,
            tokenizer=processor.tokenizer,
            dtype=dtype,
        )
    if device is not None:
        model.to(device)
    model._llara_processor = processor
    return model.eval(), processor
