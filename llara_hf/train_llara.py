"""One training run of LLaRA from a recipe: data, backbone, recommender, LoRA and the curriculum trainer.

`recipes/train.py` and `llara train` parse `LlaraTrainArguments` and `CurriculumSFTConfig` (with TRL's
parser: a YAML `--config` plus command-line overrides of any field) and call `train_llara`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import torch
from datasets import DatasetDict

from .data import LlaraDatasetBuilder, load_item_catalogue, load_llara_dataset
from .data.locate import locate_data_dir
from .data.synthetic import write_synthetic_interactions
from .evaluation.loading import BASE_FOLDER
from .item_catalogue import ItemCatalogue
from .modeling_llara import LlaraForRecommendation
from .processing_llara import LlaraProcessor
from .training import CurriculumSFTConfig, CurriculumSFTTrainer, paper_lora_config, trained_prompt_form

SYNTHETIC = "synthetic"


@dataclass
class LlaraTrainArguments:
    """What to train on and from: the data, the backbone, the recommender and LoRA."""

    backbone: str = field(
        default="default",
        metadata={"help": "'default' (embedded SmolLM2-135M-Instruct), a Hub id or a local path."},
    )
    backbone_random_weights: bool = field(
        default=False,
        metadata={"help": "Use the backbone's architecture with random weights (smoke tests, throughput)."},
    )
    backbone_config_overrides: dict | str | None = field(
        default=None,
        metadata={"help": "Changes to the backbone config (JSON), only with backbone_random_weights."},
    )
    backbone_dtype: str = field(default="float32", metadata={"help": "dtype of the backbone's weights."})
    dataset: str = field(
        default="movielens",
        metadata={"help": "movielens, lastfm, steam, interactions, or synthetic (tiny, generated)."},
    )
    data_dir: str | None = field(
        default=None, metadata={"help": "The dataset's folder; found in ../shared/data when unset, if there."}
    )
    trust_pickles: bool = field(
        default=False,
        metadata={"help": "Allow unpickling the LLaRA release's split files (trusted files only)."},
    )
    dataset_seed: int = field(
        default=42, metadata={"help": "Seed of the user split, candidates and templates."}
    )
    num_candidates: int = field(default=20, metadata={"help": "Candidates per row (the target included)."})
    recommender: str | None = field(
        default=None,
        metadata={"help": "A trained recommender (folder or Hub id); unset: a fresh item-embedding table."},
    )
    max_train_rows: int | None = field(default=None, metadata={"help": "Train on the first N shuffled rows."})
    max_eval_rows: int | None = field(default=None, metadata={"help": "Validate on the first N rows."})
    use_lora: bool = field(
        default=True, metadata={"help": "LoRA on the language model (else full fine-tuning)."}
    )
    lora_r: int = 8
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    save_base: bool = field(
        default=True,
        metadata={
            "help": "Save the untrained LLaRA base into output_dir/_llara_base so the LoRA adapter can be pushed."
        },
    )

    def __post_init__(self):
        if isinstance(self.backbone_config_overrides, str):
            self.backbone_config_overrides = json.loads(self.backbone_config_overrides)


def load_training_data(
    script_args: LlaraTrainArguments, output_dir: str
) -> tuple[DatasetDict, ItemCatalogue, str]:
    """The rows, the item catalogue and the prompt domain of `script_args.dataset`."""
    name, data_dir = script_args.dataset, script_args.data_dir
    if name == SYNTHETIC:
        name = "interactions"
        data_dir = write_synthetic_interactions(
            os.path.join(output_dir, "synthetic_data"), seed=script_args.dataset_seed
        )
    elif data_dir is None:
        data_dir = locate_data_dir(name)
    options = {"num_candidates": script_args.num_candidates}
    rows = load_llara_dataset(
        name,
        data_dir=data_dir,
        seed=script_args.dataset_seed,
        trust_pickles=script_args.trust_pickles,
        **options,
    )
    catalogue = load_item_catalogue(name, data_dir=data_dir, **options)
    domain = next(config.domain for config in LlaraDatasetBuilder.BUILDER_CONFIGS if config.name == name)
    return rows, catalogue, domain


def build_trainer(
    script_args: LlaraTrainArguments, training_args: CurriculumSFTConfig
) -> CurriculumSFTTrainer:
    """Everything a run needs, ready to `train()`."""
    with training_args.main_process_first(desc="preparing the dataset"):
        rows, catalogue, domain = load_training_data(script_args, training_args.output_dir)
    train_rows = rows["train"].shuffle(seed=script_args.dataset_seed)
    if script_args.max_train_rows is not None:
        train_rows = train_rows.select(range(min(script_args.max_train_rows, len(train_rows))))
    eval_rows = rows["validation"]
    if script_args.max_eval_rows is not None:
        eval_rows = eval_rows.select(range(min(script_args.max_eval_rows, len(eval_rows))))

    processor = LlaraProcessor.from_backbone(script_args.backbone, catalogue, templates=domain)
    model = LlaraForRecommendation.from_backbone(
        script_args.backbone,
        recommender=script_args.recommender,
        num_items=catalogue.num_items,
        tokenizer=processor.tokenizer,
        dtype=getattr(torch, script_args.backbone_dtype),
        backbone_kwargs={
            "random_weights": script_args.backbone_random_weights,
            "config_overrides": script_args.backbone_config_overrides,
        },
    )
    if script_args.save_base and training_args.should_save:
        # An adapter is only usable beside its base (placeholder row, item table, recommender): keep it.
        base_dir = os.path.join(training_args.output_dir, BASE_FOLDER)
        model.config.prompt_form = trained_prompt_form(training_args.curriculum)
        model.save_pretrained(base_dir)
        processor.save_pretrained(base_dir)
        model.name_or_path = model.config._name_or_path = base_dir
    peft_config = None
    if script_args.use_lora:
        peft_config = paper_lora_config(script_args.lora_r, script_args.lora_alpha, script_args.lora_dropout)
    return CurriculumSFTTrainer(
        model=model,
        args=training_args,
        processor=processor,
        train_dataset=train_rows,
        eval_dataset=eval_rows if training_args.eval_strategy != "no" else None,
        peft_config=peft_config,
    )


def train_llara(script_args: LlaraTrainArguments, training_args: CurriculumSFTConfig) -> CurriculumSFTTrainer:
    """Train (or resume, with `resume_from_checkpoint`) and save the final model into `output_dir`."""
    trainer = build_trainer(script_args, training_args)
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.save_model(training_args.output_dir)
    trainer.save_state()
    return trainer
