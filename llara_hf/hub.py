"""Publishing LLaRA on the Hub: model cards, the training-curve plot, and pushing models and datasets.

A trained model becomes one of two kinds of repository:

* **adapter** (a `PeftModel`, the default): the LoRA adapter with the trained projector, the processor
  (tokenizer, item catalogue, prompt templates) and the card. Its `adapter_config.json` names a real
  base: the model's own base when that already lives on the Hub with the same config, otherwise the
  untrained LLaRA base (the backbone with the placeholder token, the recommender and the untrained
  projector, i.e. `from_backbone`'s output) pushed to `<repo_id>-base` and pinned by its commit. Only
  that base pins the item-token embedding row and the recommender the adapter was trained with.
* **full** (a plain `LlaraForRecommendation`, or `merged=True`, which merges LoRA into a copy): every
  weight in `model.safetensors`, with the processor, the card and the modelling code.

The recommender's weights are part of the model (`model.model.recommender`), so they live in the full
repository or in the base one, next to the code that `trust_remote_code=True` runs.
"""

from __future__ import annotations

import copy
import importlib
import json
import logging
import math
import numbers
import os
import re
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from huggingface_hub import (
    DatasetCard,
    DatasetCardData,
    EvalResult,
    HfApi,
    ModelCard,
    ModelCardData,
    constants,
)
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import get_token
from peft import PeftModel

from .backbones import DEFAULT_BACKBONE_PACKAGE
from .commands.prepare import DATA_OPTIONS
from .data.builder import LLARA_CITATION, LlaraDatasetBuilder
from .data.config import GROUPLENS_URLS
from .data.release import RELEASE_URL
from .item_catalogue import CATALOGUE_FILE, ItemCatalogue
from .modeling_llara import LlaraForRecommendation
from .processing_llara import LlaraProcessor

logger = logging.getLogger(__name__)

# Installed wheels carry the templates as `llara_hf/model_cards`; a checkout keeps them at its top level.
TEMPLATES_DIR = next(
    (
        folder
        for folder in (
            Path(__file__).resolve().parent / "model_cards",
            Path(__file__).resolve().parents[1] / "model_cards",
        )
        if folder.is_dir()
    ),
    Path(__file__).resolve().parents[1] / "model_cards",
)
MODEL_CARD_TEMPLATE = TEMPLATES_DIR / "model_card.md"
DATASET_CARD_TEMPLATE = TEMPLATES_DIR / "dataset_card.md"
CARD_FILE = "README.md"
TRAINING_CURVES_FILE = "training_curves.png"
CURRICULUM_FILE = "curriculum.json"
TRAINER_STATE_FILE = "trainer_state.json"
PREPARE_SUMMARY_FILE = "prepare_summary.json"
BASE_REPO_SUFFIX = "-base"
DEFAULT_BACKBONE_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
DEFAULT_BACKBONE_LICENSE = "apache-2.0"
LLARA_TAGS = ("llara", "recommendation", "sequential-recommendation", "custom_code")
DATASET_TAGS = ("llara", "recommendation", "sequential-recommendation")
# Files a new push replaces, so that a repo never mixes an old model's weights or code with a new one's.
REPLACED_FILES = ("*.safetensors", "*.bin", "*.json", "*.py", "*.jinja", "*.model", "*.png", "*.txt")
RECOMMENDER_NAMES = {
    "sasrec": "SASRec",
    "gru4rec": "GRU4Rec",
    "caser": "Caser",
    "llara_item_embeddings": "item-embedding table",
}
EVAL_NOISE_KEYS = ("runtime", "samples_per_second", "steps_per_second", "epoch")
MOVIELENS_WARNING = (
    "MovieLens data is (c) GroupLens Research, for research use, and may not be redistributed without "
    "GroupLens' permission: keep the dataset repository private, or share the `llara prepare` command "
    "instead so that everyone downloads the data from GroupLens."
)
SOURCE_DESCRIPTIONS = {
    ("movielens", "llara-release"): "MovieLens (LLaRA release, from GroupLens MovieLens 100K)",
    ("movielens", "ml-100k"): "MovieLens 100K (GroupLens)",
    ("movielens", "ml-1m"): "MovieLens 1M (GroupLens)",
    ("movielens", "movielens-csv"): "MovieLens (GroupLens CSV files)",
    ("lastfm", "llara-release"): "LastFM (LLaRA release, from HetRec 2011)",
    ("steam", "llara-release"): "Steam (LLaRA release)",
    ("interactions", "interactions"): "Interactions and items tables",
}
LICENCE_NOTES = {
    "lastfm": "LastFM data derives from the HetRec 2011 Last.fm release; follow its terms.",
    "steam": "Steam data comes from the LLaRA release; follow the terms of its original publishers.",
}


class HubAuthenticationError(PermissionError):
    """There is no Hugging Face token, or the Hub rejected it."""


class HubConnectionError(ConnectionError):
    """The Hub endpoint could not be reached."""


@dataclass
class LlaraPushResult:
    """Where a push went: the repo, its kind (`adapter` or `full`), the commit, and the adapter's base."""

    repo_id: str
    kind: str
    commit: str
    url: str
    base_repo_id: str | None = None
    base_commit: str | None = None


# ----------------------------------------------------------------------------------------------- errors


def _hub_api(token: str | bool | None) -> tuple[HfApi, str]:
    """An `HfApi` on the configured endpoint (`HF_ENDPOINT`), failing early when there is no token."""
    endpoint = constants.ENDPOINT
    token = get_token() if token is None else token
    if not token:
        raise HubAuthenticationError(
            f"No Hugging Face token to push to {endpoint}: log in with `hf auth login`, set the HF_TOKEN "
            "environment variable, or pass token=... (a token with write access)."
        )
    return HfApi(endpoint=endpoint, token=token), endpoint


def _transport_errors() -> tuple[type[BaseException], ...]:
    """The network errors of the HTTP client huggingface_hub uses (httpx2 from 2.0, httpx before)."""
    errors: list[type[BaseException]] = [ConnectionError]
    for module in ("httpx2", "httpx"):
        try:
            errors.append(importlib.import_module(module).TransportError)
        except ImportError:
            continue
    return tuple(errors)


@contextmanager
def _hub_errors(endpoint: str) -> Iterator[None]:
    """Turn an unreachable endpoint and a rejected token into errors that say which."""
    try:
        yield
    except _transport_errors() as error:
        if isinstance(error, HubConnectionError):
            raise
        raise HubConnectionError(
            f"Cannot reach the Hugging Face Hub at {endpoint} ({type(error).__name__}: {error}): check the "
            "address (HF_ENDPOINT) and your network connection."
        ) from error
    except HfHubHTTPError as error:
        if error.response is not None and error.response.status_code in (401, 403):
            raise HubAuthenticationError(
                f"The Hub at {endpoint} rejected the token ({error.response.status_code}): log in again with "
                "`hf auth login` or set HF_TOKEN to a token with write access."
            ) from error
        raise


# ----------------------------------------------------------------------------------------- plot & card


def plot_training_curves(
    log_history: Sequence[Mapping] | Mapping[str, Sequence[Mapping]], path: str | os.PathLike
) -> str:
    """Draw the training loss (and evaluation loss) and the fraction of hybrid-prompt steps over steps.

    `log_history` is `trainer.state.log_history` (or the `log_history` of a `trainer_state.json`), or a
    mapping from run names to such histories to draw several runs on the same axes. Needs matplotlib
    (`pip install llara-hf[plot]`); writes a PNG atomically and returns its path.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "Plotting the training curves needs matplotlib: `pip install llara-hf[plot]` (or `pip install "
            "matplotlib`)."
        ) from error
    runs = dict(log_history) if isinstance(log_history, Mapping) else {"": log_history}

    def series(history: Sequence[Mapping], key: str) -> list[tuple[float, float]]:
        return [(entry["step"], entry[key]) for entry in history if key in entry and "step" in entry]

    if not any(series(history, "loss") for history in runs.values()):
        raise ValueError(
            "The log history has no training loss to plot: train with `logging_steps` set so that the "
            "trainer logs `loss`."
        )
    figure = Figure(figsize=(7, 5), dpi=100, layout="constrained")
    loss_axes, hybrid_axes = figure.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    for name, history in runs.items():
        prefix = f"{name}: " if name else ""
        if train := series(history, "loss"):
            loss_axes.plot(*zip(*train, strict=True), label=f"{prefix}training loss")
        if evaluation := series(history, "eval_loss"):
            loss_axes.plot(*zip(*evaluation, strict=True), marker="o", label=f"{prefix}evaluation loss")
        if hybrid := series(history, "hybrid_fraction"):
            hybrid_axes.step(*zip(*hybrid, strict=True), where="mid", label=name or None)
    loss_axes.set_ylabel("loss")
    loss_axes.legend()
    loss_axes.grid(alpha=0.3)
    if len(runs) > 1:
        hybrid_axes.legend()
    hybrid_axes.set_ylim(-0.05, 1.05)
    hybrid_axes.set_ylabel("hybrid fraction")
    hybrid_axes.set_xlabel("optimisation step")
    hybrid_axes.grid(alpha=0.3)
    path = os.fspath(path)
    figure.savefig(f"{path}.tmp", format="png")
    os.replace(f"{path}.tmp", path)
    return path


def metrics_from_log_history(log_history: Sequence[Mapping]) -> dict[str, dict[str, float]]:
    """The last evaluation's metrics in a log history, as `{"validation": {metric: value}}` (or `{}`)."""
    for entry in reversed(log_history):
        values = {
            key.removeprefix("eval_"): value
            for key, value in entry.items()
            if key.startswith("eval_") and key.removeprefix("eval_") not in EVAL_NOISE_KEYS
        }
        if values:
            return {"validation": values}
    return {}


def find_log_history(folder: str | os.PathLike) -> list[dict] | None:
    """The `log_history` of `folder/trainer_state.json`, else of its latest `checkpoint-*`, else None."""
    folder = Path(folder)
    candidates = [folder / TRAINER_STATE_FILE]
    checkpoints = [path for path in folder.glob("checkpoint-*") if path.name.split("-")[-1].isdigit()]
    candidates += [
        path / TRAINER_STATE_FILE for path in sorted(checkpoints, key=lambda p: -int(p.name.split("-")[-1]))
    ]
    for path in candidates:
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))["log_history"]
    return None


def backbone_hub_id(model) -> str | None:
    """The Hub id of the model's language model: the embedded default's id, or the id it was loaded from."""
    name = str(getattr(_llara_model(model).config.text_config, "_name_or_path", "") or "")
    if Path(name).name == DEFAULT_BACKBONE_PACKAGE:
        return DEFAULT_BACKBONE_HUB_ID
    if _looks_like_repo_id(name):
        return name
    return None


def _looks_like_repo_id(name: str | None) -> bool:
    return bool(name) and not os.path.exists(name) and re.fullmatch(r"[\w.-]+/[\w.-]+", name) is not None


def _llara_model(model) -> LlaraForRecommendation:
    """The `LlaraForRecommendation` inside a `PeftModel`, or the model itself; an error for anything else."""
    inner = model.get_base_model() if isinstance(model, PeftModel) else model
    if getattr(getattr(inner, "config", None), "model_type", None) != "llara":
        raise TypeError(
            f"Expected a LlaraForRecommendation (or a PeftModel around one), got {type(model).__name__}."
        )
    return inner


def _lora_settings(model) -> dict | None:
    if not isinstance(model, PeftModel):
        return None
    config = model.peft_config[model.active_adapter]
    targets = sorted(config.target_modules or [])
    return {
        "r": getattr(config, "r", None),
        "lora_alpha": getattr(config, "lora_alpha", None),
        "lora_dropout": getattr(config, "lora_dropout", None),
        "num_targets": len(targets),
        "target_names": sorted({name.rsplit(".", 1)[-1] for name in targets}),
        "modules_to_save": list(config.modules_to_save or []),
    }


def _training_settings(training) -> dict[str, str]:
    """Hyper-parameters for the card, from a mapping or from `TrainingArguments`."""
    if training is None:
        return {}
    if isinstance(training, Mapping):
        return {str(name): str(value) for name, value in training.items()}
    settings = {
        "Learning rate": training.learning_rate,
        "Schedule": getattr(training.lr_scheduler_type, "value", training.lr_scheduler_type),
        "Batch size per device": training.per_device_train_batch_size,
        "Gradient accumulation": training.gradient_accumulation_steps,
        "Epochs": training.num_train_epochs if training.max_steps <= 0 else None,
        "Max steps": training.max_steps if training.max_steps > 0 else None,
        "Precision": "bf16" if training.bf16 else "fp16" if training.fp16 else "fp32",
        "Seed": training.seed,
    }
    return {name: str(value) for name, value in settings.items() if value is not None}


def _metric_rows(metrics: Mapping | None, anchors: Mapping | None) -> list[dict]:
    """Rows `protocol, metric, value, anchor` (as text) and `number` from `{protocol: {metric: value}}`;
    a flat `{metric: value}` is one protocol, `evaluation`."""

    def nested(values: Mapping | None, what: str) -> dict[str, Mapping]:
        values = dict(values or {})
        if values and all(not isinstance(value, Mapping) for value in values.values()):
            values = {"evaluation": values}
        for protocol, by_metric in values.items():
            if not isinstance(by_metric, Mapping):
                raise ValueError(f"{what}[{protocol!r}] must map metric names to numbers, got {by_metric!r}.")
            for metric, value in by_metric.items():
                if isinstance(value, bool) or not isinstance(value, numbers.Real):
                    raise ValueError(f"{what}[{protocol!r}][{metric!r}] must be a number, got {value!r}.")
        return values

    def shown(value: numbers.Real | None) -> str:
        if value is None:
            return "–"
        return (
            str(value) if isinstance(value, numbers.Integral) or not math.isfinite(value) else f"{value:.4f}"
        )

    metrics, anchors = nested(metrics, "metrics"), nested(anchors, "anchors")
    return [
        {
            "protocol": protocol,
            "metric": metric,
            "number": float(value),
            "value": shown(value),
            "anchor": shown(anchors.get(protocol, {}).get(metric)),
        }
        for protocol, by_metric in metrics.items()
        for metric, value in by_metric.items()
    ]


def _usage_code(repo_id: str, catalogue: ItemCatalogue | None) -> str:
    num_items = catalogue.num_items if catalogue is not None else 8
    history = list(range(min(3, max(num_items - 1, 1))))
    candidates = list(range(len(history), min(len(history) + 5, num_items))) or history
    comment = ""
    if catalogue is not None:
        comment = "  # " + ", ".join(catalogue.titles[item] for item in history)
    return (
        "from transformers import AutoModelForCausalLM\n\n"
        f'model = AutoModelForCausalLM.from_pretrained("{repo_id}", trust_remote_code=True)\n'
        f"history = {history}{comment}\n"
        f"for item_id, title, score in model.recommend(history, candidates={candidates}, top_k=3):\n"
        "    print(item_id, title, score)"
    )


def render_llara_model_card(
    model,
    *,
    repo_id: str,
    kind: str | None = None,
    processor: LlaraProcessor | None = None,
    base_repo_id: str | None = None,
    adapter_repo_id: str | None = None,
    plot_file: str | None = None,
    metrics: Mapping | None = None,
    anchors: Mapping | None = None,
    anchor_source: str | None = None,
    datasets: Sequence[str] | str | None = None,
    curriculum: Mapping | None = None,
    training=None,
    backbone_id: str | None = None,
    recommender_id: str | None = None,
    license: str | None = None,
    license_note: str | None = None,
    tags: Sequence[str] | str | None = None,
    model_name: str | None = None,
) -> ModelCard:
    """The model card of a LLaRA repository, from `model_cards/model_card.md`.

    Args:
        model: the LLaRA model, or a `PeftModel` around it (its LoRA settings go into the card).
        repo_id: the repository the card describes (used in the five-line example).
        kind: `"adapter"`, `"full"` or `"base"`; by default `"adapter"` for a `PeftModel`, else `"full"`.
        processor: gives the example item ids their titles.
        base_repo_id: the base an adapter loads on (default: its `adapter_config`'s base).
        adapter_repo_id: for a base card, the adapter it serves.
        plot_file: the training-curve PNG, relative to the repository root.
        metrics / anchors: `{protocol: {metric: value}}` (e.g. `{"paper": {"hr@1": 0.42}}`); anchors are
            reference numbers shown beside the model's (`anchor_source` says where they come from).
        datasets: Hub ids of the training datasets.
        curriculum: `CurriculumSFTTrainer.curriculum_state()` (or the checkpoint's `curriculum.json`).
        training: hyper-parameters, as a mapping or the run's `TrainingArguments`.
        backbone_id: Hub id of the language model (default: inferred, e.g. the embedded default's id).
        recommender_id: Hub id the recommender was loaded from, if any.
        license: the weights' licence (default: the embedded default backbone's, else `"other"`).
    """
    llara = _llara_model(model)
    config = llara.config
    kind = kind or ("adapter" if isinstance(model, PeftModel) else "full")
    if kind not in ("adapter", "full", "base"):
        raise ValueError(f"kind must be 'adapter', 'full' or 'base', got {kind!r}.")
    if not MODEL_CARD_TEMPLATE.is_file():
        raise FileNotFoundError(
            f"The model card template {MODEL_CARD_TEMPLATE} is missing: install llara-hf from its source tree."
        )
    if kind == "adapter" and base_repo_id is None and isinstance(model, PeftModel):
        base_repo_id = model.peft_config[model.active_adapter].base_model_name_or_path
    backbone_id = backbone_id or backbone_hub_id(llara)
    if license is None:
        license = DEFAULT_BACKBONE_LICENSE if backbone_id == DEFAULT_BACKBONE_HUB_ID else "other"
        license_note = license_note or (
            f"the licence of the backbone {backbone_id}" if backbone_id else "see the backbone's licence"
        )
    datasets = [datasets] if isinstance(datasets, str) else list(datasets or [])
    metric_rows = _metric_rows(metrics, anchors)
    lora = _lora_settings(model)
    card_base_model = base_repo_id if kind == "adapter" else backbone_id
    model_name = model_name or repo_id.split("/")[-1]
    card_data = ModelCardData(
        library_name="peft" if kind == "adapter" else "transformers",
        base_model=card_base_model,
        base_model_relation={"adapter": "adapter", "full": "finetune"}.get(kind) if card_base_model else None,
        datasets=datasets or None,
        license=license,
        pipeline_tag="text-generation",
        tags=[
            *LLARA_TAGS,
            *(["lora", "peft"] if lora else []),
            *([tags] if isinstance(tags, str) else tags or []),
        ],
        model_name=model_name,
        eval_results=[
            EvalResult(
                task_type="text-generation",
                task_name="Sequential recommendation",
                dataset_type=datasets[0],
                dataset_name=datasets[0],
                metric_type=row["metric"],
                metric_name=f"{row['metric']} ({row['protocol']})",
                metric_value=row["number"],
            )
            for row in metric_rows
        ]
        if datasets and metric_rows
        else None,
    )
    if curriculum is not None:
        curriculum = dict(curriculum)
        if "hybrid_steps" in curriculum:
            curriculum["num_hybrid_steps"] = str(curriculum["hybrid_steps"]).count("1")
    recommender_config = config.recommender_config
    catalogue = processor.catalogue if processor is not None else None
    usage_repo_id = adapter_repo_id if kind == "base" and adapter_repo_id else repo_id
    backbone_text = (
        f"[{backbone_id}]({constants.ENDPOINT}/{backbone_id})"
        if backbone_id
        else f"a {config.text_config.model_type} language model"
    )
    weights_text = {
        "adapter": f"LoRA adapter and trained projector (`adapter_model.safetensors`), on {base_repo_id}",
        "full": "all weights in `model.safetensors`",
        "base": "backbone, recommender and untrained projector in `model.safetensors`",
    }[kind]
    return ModelCard.from_template(
        card_data,
        template_path=str(MODEL_CARD_TEMPLATE),
        model_name=model_name,
        kind=kind,
        merged=kind == "full" and lora is not None,
        repo_id=repo_id,
        usage_repo_id=usage_repo_id,
        hub_url=constants.ENDPOINT,
        base_repo_id=base_repo_id,
        adapter_repo_id=adapter_repo_id,
        backbone_text=backbone_text,
        recommender={
            "type": RECOMMENDER_NAMES.get(recommender_config.model_type, recommender_config.model_type),
            "num_items": recommender_config.num_items,
            "hidden_size": recommender_config.hidden_size,
            "frozen": config.freeze_recommender,
        },
        recommender_id=recommender_id,
        projector={
            "input_size": recommender_config.hidden_size,
            "output_size": config.text_config.hidden_size,
            "activation": config.projector_hidden_act.upper(),
        },
        item_token=processor.item_token if processor is not None else "[ItemEmb]",
        item_token_id=config.item_token_id,
        prompt_form=config.prompt_form,
        weights_text=weights_text,
        usage_code=_usage_code(usage_repo_id, catalogue),
        curriculum=curriculum,
        lora=lora,
        training=_training_settings(training),
        plot_file=plot_file,
        metrics=metric_rows,
        anchor_source=anchor_source,
        license_note=license_note,
        citation=LLARA_CITATION,
    )


def _save_card(card: ModelCard | DatasetCard, path: Path) -> None:
    card.save(f"{path}.tmp")
    os.replace(f"{path}.tmp", path)


def _write_plot(folder: Path, log_history: Sequence[Mapping] | None) -> str | None:
    """The plot's file name, or None when there is no loss to draw or no matplotlib (the card says so)."""
    if not log_history or not any("loss" in entry for entry in log_history):
        return None
    try:
        plot_training_curves(log_history, folder / TRAINING_CURVES_FILE)
    except ImportError as error:
        logger.warning("%s The model card goes without its training-curve plot.", error)
        return None
    return TRAINING_CURVES_FILE


def write_llara_model_card(
    output_dir: str | os.PathLike,
    model,
    log_history: Sequence[Mapping] | None = None,
    *,
    processor: LlaraProcessor | None = None,
    repo_id: str | None = None,
    metrics: Mapping | None = None,
    curriculum: Mapping | None = None,
    **card_options,
) -> ModelCard:
    """Write `README.md`, and `training_curves.png` when the log history has losses, into `output_dir`.

    Metrics default to the last evaluation in `log_history`, the curriculum to `output_dir/curriculum.json`;
    `card_options` go to [`render_llara_model_card`]. This is what `CurriculumSFTTrainer.create_model_card`
    writes, so `push_to_hub=True` publishes this card rather than TRL's generic one.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if metrics is None and log_history:
        metrics = metrics_from_log_history(log_history)
    if curriculum is None and (output_dir / CURRICULUM_FILE).is_file():
        curriculum = json.loads((output_dir / CURRICULUM_FILE).read_text(encoding="utf-8"))
    card = render_llara_model_card(
        model,
        repo_id=repo_id or output_dir.name,
        processor=processor,
        plot_file=_write_plot(output_dir, log_history),
        metrics=metrics,
        curriculum=curriculum,
        **card_options,
    )
    _save_card(card, output_dir / CARD_FILE)
    return card


# ------------------------------------------------------------------------------------------------ models


def _check_processor(processor: LlaraProcessor, model) -> None:
    if not isinstance(processor, LlaraProcessor):
        raise TypeError(
            f"processor must be the model's LlaraProcessor (it is pushed with it), got {type(processor).__name__}."
        )
    from .training.trainer import check_processor_matches_model

    check_processor_matches_model(processor, _llara_model(model))


def _save_full(model: LlaraForRecommendation, processor: LlaraProcessor, folder: str | os.PathLike) -> None:
    """Weights, config, generation config, modelling code and processor, as `from_pretrained` reads them."""
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    if not (Path(folder) / "modeling_llara.py").is_file():
        raise RuntimeError(
            f"{type(model).__name__} did not save its modelling code: import llara_hf (which registers it "
            "for `trust_remote_code`) before saving, or load the model with `trust_remote_code=True`."
        )


def _base_model_for_saving(model: PeftModel) -> LlaraForRecommendation:
    """The model the adapter was trained from, sharing the adapter model's tensors: LoRA layers dropped and
    `modules_to_save` back to their original modules. Built on the meta device: for `save_pretrained` only."""
    inner = model.get_base_model()
    lora_marker = f".{model.base_model.prefix}"
    state = {
        name.replace(".base_layer.", ".").replace(".original_module.", "."): tensor
        for name, tensor in inner.state_dict().items()
        if lora_marker not in name and ".modules_to_save." not in name
    }
    with torch.device("meta"):
        base = type(inner)(inner.config)
    base.load_state_dict(state, strict=True, assign=True)
    base.tie_weights()
    base.generation_config = copy.deepcopy(inner.generation_config)
    return base


def _merged_copy(model: PeftModel) -> LlaraForRecommendation:
    """LoRA merged into a copy, so the caller's model keeps its adapter (peak memory: two models).

    For saving only: the copy of a model TRL trained keeps TRL's patched `forward`, which still calls the
    original, unmerged model."""
    return copy.deepcopy(model).merge_and_unload()


def _comparable_config(config: dict) -> dict:
    """A config dict without what saving, loading or the machine change (paths, versions, dtypes)."""
    volatile = {"_name_or_path", "transformers_version", "architectures", "auto_map", "dtype", "torch_dtype"}
    return {
        key: _comparable_config(value) if isinstance(value, dict) else value
        for key, value in config.items()
        if key not in volatile and not str(key).startswith("_commit")
    }


def _current_base(model) -> tuple[str | None, str | None]:
    """The base a model names now: its adapter config's for a `PeftModel`, else where it was loaded from."""
    if isinstance(model, PeftModel):
        config = model.peft_config[model.active_adapter]
        return config.base_model_name_or_path, config.revision
    return model.name_or_path, getattr(model.config, "_commit_hash", None)


def _reusable_hub_base(api: HfApi, model) -> tuple[str, str | None] | None:
    """The model's current base and revision when that is a Hub repo holding a LLaRA model with the same
    config (so the same prompt form, placeholder token and recommender settings)."""
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    name, revision = _current_base(model)
    if not _looks_like_repo_id(name):
        return None
    try:
        path = api.hf_hub_download(name, "config.json", revision=revision)
    except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError):
        return None
    config = _llara_model(model).config
    hub_config = json.loads(Path(path).read_text(encoding="utf-8"))
    if hub_config.get("model_type") != config.model_type:
        return None
    hub_config = type(config).from_dict(hub_config).to_dict()
    return (
        (name, revision) if _comparable_config(hub_config) == _comparable_config(config.to_dict()) else None
    )


def publish_llara_base(
    model,
    processor: LlaraProcessor,
    repo_id: str,
    *,
    adapter_repo_id: str | None = None,
    peft_config=None,
    private: bool | None = None,
    token: str | None = None,
    commit_message: str | None = None,
    backbone_id: str | None = None,
    license: str | None = None,
) -> tuple[str, str | None]:
    """Make sure the untrained LLaRA base a LoRA adapter loads on lives on the Hub, and point at it.

    The model's current base is kept when it already is a Hub repo with the same config; otherwise the
    base (backbone with the placeholder token, recommender, untrained projector) is pushed to `repo_id`.
    `model` is the LLaRA model before LoRA wraps it (as `CurriculumSFTTrainer` receives it) or a
    `PeftModel`, whose base weights are recovered without its adapter. Afterwards the model's
    `name_or_path` (or the `PeftModel`'s adapter config), and `peft_config` when given, name that repo and
    commit, so that every adapter saved from the model names a real base. Returns `(repo_id, revision)`.
    """
    _check_processor(processor, model)
    api, endpoint = _hub_api(token)
    with _hub_errors(endpoint):
        reused = _reusable_hub_base(api, model)
        if reused is not None:
            repo_id, revision = reused
        else:
            repo_id, revision = _push_base(
                api,
                model,
                processor,
                repo_id,
                private=private,
                commit_message=commit_message,
                adapter_repo_id=adapter_repo_id,
                backbone_id=backbone_id,
                license=license,
            )
    configs = [peft_config] if peft_config is not None else []
    if isinstance(model, PeftModel):
        configs.append(model.peft_config[model.active_adapter])
    else:
        model.name_or_path = repo_id
        model.config._name_or_path = repo_id
    for config in configs:
        config.base_model_name_or_path, config.revision = repo_id, revision
    return repo_id, revision


def _push_base(
    api: HfApi,
    model,
    processor: LlaraProcessor,
    repo_id: str,
    *,
    private: bool | None,
    commit_message: str | None,
    adapter_repo_id: str | None,
    backbone_id: str | None,
    license: str | None,
) -> tuple[str, str]:
    """Push the base with its processor, code and card in one commit; return the repo id and commit."""
    base = _base_model_for_saving(model) if isinstance(model, PeftModel) else model
    with tempfile.TemporaryDirectory(prefix="llara-base-") as folder:
        repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
        _save_full(base, processor, folder)
        card = render_llara_model_card(
            base,
            repo_id=repo_id,
            kind="base",
            processor=processor,
            adapter_repo_id=adapter_repo_id,
            backbone_id=backbone_id,
            license=license,
        )
        _save_card(card, Path(folder) / CARD_FILE)
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            commit_message=commit_message or "Upload the LLaRA base of a LoRA adapter",
            delete_patterns=list(REPLACED_FILES),
        ).oid
    return repo_id, commit


def push_llara_to_hub(
    model,
    processor: LlaraProcessor,
    repo_id: str,
    *,
    merged: bool = False,
    private: bool | None = None,
    token: str | None = None,
    base_repo_id: str | None = None,
    commit_message: str | None = None,
    log_history: Sequence[Mapping] | None = None,
    **card_options,
) -> LlaraPushResult:
    """Push a trained LLaRA model with everything needed to use it, in one commit.

    A `PeftModel` becomes an adapter repo (and, unless its base already lives on the Hub with the same
    config, the base goes to `base_repo_id`, default `<repo_id>-base`); `merged=True` pushes LoRA merged
    into a copy of the model instead. A plain `LlaraForRecommendation` is pushed whole. Every repo gets
    the processor (tokenizer, `item_catalogue.json`, `llara_processor.json`) and a model card with the
    training curves of `log_history`; `card_options` go to [`render_llara_model_card`] (`metrics`,
    `anchors`, `datasets`, `curriculum`, `training`, `backbone_id`, `license`, ...).

    Raises `HubAuthenticationError` without a valid token, `HubConnectionError` when the endpoint
    (`HF_ENDPOINT`) cannot be reached.
    """
    _check_processor(processor, model)
    is_adapter = isinstance(model, PeftModel) and not merged
    if merged and not isinstance(model, PeftModel):
        raise ValueError(
            "merged=True merges a LoRA adapter, but the model is not a PeftModel: push it as is."
        )
    api, endpoint = _hub_api(token)
    base_repo, base_commit = None, None
    with _hub_errors(endpoint), tempfile.TemporaryDirectory(prefix="llara-push-") as folder:
        repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
        if is_adapter:
            base_repo, base_commit = publish_llara_base(
                model,
                processor,
                base_repo_id or repo_id + BASE_REPO_SUFFIX,
                adapter_repo_id=repo_id,
                private=private,
                token=api.token,
                backbone_id=card_options.get("backbone_id"),
                license=card_options.get("license"),
            )
            model.save_pretrained(folder)
            processor.save_pretrained(folder)
        else:
            _save_full(_merged_copy(model) if merged else model, processor, folder)
        kind = "adapter" if is_adapter else "full"
        if card_options.get("curriculum") is not None:
            (Path(folder) / CURRICULUM_FILE).write_text(json.dumps(card_options["curriculum"], indent=2))
        write_llara_model_card(
            folder,
            model,
            log_history,
            processor=processor,
            repo_id=repo_id,
            kind=kind,
            base_repo_id=base_repo,
            **card_options,
        )
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            commit_message=commit_message or f"Upload LLaRA ({kind})",
            delete_patterns=list(REPLACED_FILES),
        ).oid
    return LlaraPushResult(repo_id, kind, commit, f"{endpoint}/{repo_id}", base_repo, base_commit)


# ---------------------------------------------------------------------------------------------- datasets


def _data_config(name: str, options: Mapping | None):
    """The builder config `name` with `options` set (not validated: the source folder may be elsewhere)."""
    known = {config.name: config for config in LlaraDatasetBuilder.BUILDER_CONFIGS}
    if name not in known:
        raise ValueError(f"Unknown dataset {name!r}: use one of {sorted(known)}.")
    config = copy.deepcopy(known[name])
    for option, value in (options or {}).items():
        if not hasattr(config, option):
            raise ValueError(f"Unknown dataset option {option!r} for {name}.")
        setattr(config, option, value)
    return config


def _data_source(name: str, layout: str, config, data_dir: str | None) -> str:
    if layout == "llara-release":
        return RELEASE_URL
    if name == "movielens":
        return GROUPLENS_URLS.get(
            layout if data_dir else config.grouplens_dataset, "https://grouplens.org/datasets/movielens/"
        )
    return f"{Path(data_dir).name}/ (local tables)" if data_dir else "local tables"


def _prepare_command(name: str, layout: str, config, data_dir: str | None) -> str:
    """The `llara prepare` command that rebuilds the same rows."""
    defaults = _data_config(name, None)
    words = ["llara prepare", name]
    if data_dir:
        words += ["--data-dir", Path(data_dir).name]
    if layout == "llara-release":
        words.append("--trust-pickles")
    words += ["--seed", str(config.seed)]
    for option in DATA_OPTIONS:
        value = getattr(config, option)
        if value is not None and value != getattr(defaults, option):
            words += [f"--{option.replace('_', '-')}", str(value)]
    return " ".join([*words, "--output-dir", "prepared"])


def push_llara_dataset_to_hub(
    dataset_dict,
    repo_id: str,
    *,
    name: str,
    layout: str,
    catalogue: ItemCatalogue,
    options: Mapping | None = None,
    data_dir: str | None = None,
    private: bool | None = None,
    token: str | None = None,
    pretty_name: str | None = None,
    license: str | None = None,
    commit_message: str | None = None,
) -> str:
    """Push LLaRA rows with `DatasetDict.push_to_hub`, then their card (`model_cards/dataset_card.md`) and
    `item_catalogue.json`. Returns the repo id.

    Args:
        dataset_dict: the splits of `load_llara_dataset(name, data_dir, **options)`.
        name / layout / options / data_dir: how the rows were built (`detect_layout` gives the layout);
            the card describes the protocol from them and gives the `llara prepare` command.
        catalogue: the item catalogue of the rows.
        private: MovieLens rows (GroupLens data, which may not be redistributed) warn and default to a
            private repository.
    """
    config = _data_config(name, options)
    if name == "movielens":
        public = " You asked for a PUBLIC repository." if private is False else ""
        warnings.warn(MOVIELENS_WARNING + public, UserWarning, stacklevel=2)
        private = True if private is None else private
    if not DATASET_CARD_TEMPLATE.is_file():
        raise FileNotFoundError(
            f"The dataset card template {DATASET_CARD_TEMPLATE} is missing: install llara-hf from its source tree."
        )
    pretty_name = pretty_name or f"LLaRA {name} ({layout})"
    fields = dict(
        config_name=name,
        layout=layout,
        movielens=name == "movielens",
        source_description=SOURCE_DESCRIPTIONS.get((name, layout), config.description),
        source=_data_source(name, layout, config, data_dir),
        num_items=catalogue.num_items,
        source_ids=catalogue.source_ids is not None,
        max_history=config.max_history,
        min_history=config.min_history,
        split_ratios=[f"{ratio:g}" for ratio in config.split_ratios],
        seed=config.seed,
        num_candidates=config.num_candidates,
        domain=config.domain,
        num_rows={split: dataset_dict[split].num_rows for split in dataset_dict},
        command=_prepare_command(name, layout, config, data_dir),
        licence_note=LICENCE_NOTES.get(name),
    )
    api, endpoint = _hub_api(token)
    with _hub_errors(endpoint), tempfile.TemporaryDirectory(prefix="llara-dataset-") as folder:
        repo_id = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True).repo_id
        dataset_dict.push_to_hub(
            repo_id, private=private, token=api.token, commit_message=commit_message or "Upload LLaRA rows"
        )
        # Keep the `configs` and `dataset_info` metadata `push_to_hub` wrote: `load_dataset` reads them.
        metadata = DatasetCard.load(repo_id, repo_type="dataset", token=api.token).data.to_dict()
        metadata.update(
            pretty_name=pretty_name,
            license=license or ("other" if name == "movielens" else metadata.get("license")),
            tags=sorted({*DATASET_TAGS, *(metadata.get("tags") or [])}),
            task_categories=["text-generation"],
        )
        card = DatasetCard.from_template(
            DatasetCardData(**metadata), template_path=str(DATASET_CARD_TEMPLATE), **fields
        )
        _save_card(card, Path(folder) / CARD_FILE)
        catalogue.save(folder)
        api.upload_folder(
            repo_id=repo_id,
            repo_type="dataset",
            folder_path=folder,
            commit_message="Add the dataset card and the item catalogue",
        )
    return repo_id


def push_prepared_dataset_to_hub(dataset_dir: str | os.PathLike, repo_id: str, **kwargs) -> str:
    """Push the output of `llara prepare` (`<split>.parquet`, `item_catalogue.json`, `prepare_summary.json`)
    with [`push_llara_dataset_to_hub`]; `kwargs` are its `private`, `token`, `pretty_name`, ..."""
    from datasets import Dataset, DatasetDict

    folder = Path(dataset_dir)
    summary_path = folder / PREPARE_SUMMARY_FILE
    if not summary_path.is_file():
        raise FileNotFoundError(
            f"No {PREPARE_SUMMARY_FILE} in {folder}: pass the --output-dir of `llara prepare`, which holds "
            f"<split>.parquet, {CATALOGUE_FILE} and {PREPARE_SUMMARY_FILE}."
        )
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    paths = {split: folder / f"{split}.parquet" for split in summary["num_rows"]}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"{PREPARE_SUMMARY_FILE} lists splits whose files are missing: {missing}.")
    rows = DatasetDict({split: Dataset.from_parquet(str(path)) for split, path in paths.items()})
    return push_llara_dataset_to_hub(
        rows,
        repo_id,
        name=summary["name"],
        layout=summary["layout"],
        catalogue=ItemCatalogue.load(folder),
        options=summary["config"],
        data_dir=summary.get("data_dir"),
        **kwargs,
    )


__all__ = [
    "HubAuthenticationError",
    "HubConnectionError",
    "LlaraPushResult",
    "backbone_hub_id",
    "find_log_history",
    "metrics_from_log_history",
    "plot_training_curves",
    "publish_llara_base",
    "push_llara_dataset_to_hub",
    "push_llara_to_hub",
    "push_prepared_dataset_to_hub",
    "render_llara_model_card",
    "write_llara_model_card",
]
