"""Load what `llara evaluate` and `llara recommend` run: a trained LLaRA model, or any causal LM zero-shot."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from ..backbones import DEFAULT_BACKBONE
from ..item_catalogue import ItemCatalogue

BASE_FOLDER = "_llara_base"
"""Where `llara train` saves the untrained LLaRA base beside a LoRA adapter (`push_to_hub` skips `_` folders)."""
ADAPTER_CONFIG_FILE = "adapter_config.json"


def adapter_base(folder: str | os.PathLike) -> str | None:
    """The LLaRA base of a LoRA adapter folder, or None when the folder holds no adapter.

    That is the base its `adapter_config.json` names when that is an existing folder or a Hub id, else the
    `_llara_base` saved beside it (the recorded path is relative to where training ran, or the folder moved).
    """
    config_file = Path(folder) / ADAPTER_CONFIG_FILE
    if not config_file.is_file():
        return None
    named = json.loads(config_file.read_text(encoding="utf-8")).get("base_model_name_or_path") or ""
    beside = Path(folder) / BASE_FOLDER
    if named and Path(named).is_dir():
        return named
    if beside.is_dir():
        return str(beside)
    if not named:
        raise ValueError(
            f"{folder} holds a LoRA adapter whose {ADAPTER_CONFIG_FILE} names no base model: pass the LLaRA base "
            "it was trained from (adapter_base=..., `llara push --adapter-base`), a folder saved with "
            "`save_pretrained` before training or a Hub id."
        )
    return named


def load_llara_folder(
    folder: str | os.PathLike, adapter_base_path: str | None = None, dtype: torch.dtype | str | None = None
):
    """A trained model and its processor from a folder: a `LlaraForRecommendation`, or a `PeftModel` with
    the LoRA adapter on its base (`adapter_base_path`, a folder or Hub id, else `adapter_base(folder)`)."""
    from peft import PeftModel

    from ..modeling_llara import LlaraForRecommendation
    from ..processing_llara import LlaraProcessor

    folder = Path(folder)
    if (folder / ADAPTER_CONFIG_FILE).is_file():
        base = adapter_base_path or adapter_base(folder)
        model = PeftModel.from_pretrained(LlaraForRecommendation.from_pretrained(base, dtype=dtype), folder)
        if adapter_base_path:
            model.peft_config[model.active_adapter].base_model_name_or_path = str(adapter_base_path)
            model.peft_config[model.active_adapter].revision = None
    elif (folder / "config.json").is_file():
        model = LlaraForRecommendation.from_pretrained(folder, dtype=dtype)
    else:
        raise FileNotFoundError(
            f"{folder} has neither config.json (a full LLaRA model) nor {ADAPTER_CONFIG_FILE} (a LoRA adapter): "
            "pass the output_dir of `llara train` or a folder written by `save_pretrained`."
        )
    return model.eval(), LlaraProcessor.from_pretrained(folder)


def is_llara_model(name_or_path: str | os.PathLike) -> bool:
    """Whether a folder or Hub id holds a saved `LlaraForRecommendation` (its config's `model_type`), or a
    folder holds a LoRA adapter on one."""
    name = str(name_or_path)
    if name == DEFAULT_BACKBONE or Path(name).suffix == ".gguf":
        return False
    config_file = Path(name) / "config.json"
    if Path(name).is_dir():
        if (base := adapter_base(name)) is not None:
            return is_llara_model(base)
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
    one it was trained on); a LoRA adapter folder (the `output_dir` of `llara train`) is merged into its base.
    Anything else (`"default"`, a causal LM's Hub id, folder or `.gguf` file) is
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
        if Path(name_or_path).is_dir():
            model, processor = load_llara_folder(name_or_path, dtype=dtype)
            if not isinstance(model, LlaraForRecommendation):
                model = model.merge_and_unload()
        else:
            processor = LlaraProcessor.from_pretrained(name_or_path)
            model = LlaraForRecommendation.from_pretrained(name_or_path, dtype=dtype)
        if catalogue is not None and catalogue.titles != processor.catalogue.titles:
            raise ValueError(
                f"{name_or_path} was trained on a catalogue of {processor.catalogue.num_items} items that differs "
                f"from the dataset's ({catalogue.num_items} items): evaluate it on the dataset it was trained on."
            )
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
