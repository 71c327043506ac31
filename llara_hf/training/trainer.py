"""`CurriculumSFTTrainer`: TRL's `SFTTrainer` with LLaRA's curriculum prompt tuning."""

from __future__ import annotations

import json
import os

import torch
from peft import PeftConfig
from trl import SFTTrainer

from ..evaluation import evaluate as evaluate_split
from ..modeling_llara import LlaraForRecommendation
from ..processing_llara import LlaraProcessor
from .collator import LlaraCurriculumCollator, select_prompt_form
from .config import CurriculumSFTConfig
from .curriculum import is_hybrid_step, trained_prompt_form
from .lora import language_model_lora_targets

CURRICULUM_FILE = "curriculum.json"


class CurriculumSFTTrainer(SFTTrainer):
    """Fine-tunes a [`LlaraForRecommendation`] on LLaRA rows with a text-to-hybrid prompt curriculum.

    The collator renders every row in both prompt forms; each optimisation step then uses the form that
    `is_hybrid_step(curriculum, global_step, max_steps, curriculum_seed)` decides, so the choice is exact
    per step and identical across processes, workers, accumulation and resumes. On text-only steps the
    projector (and a trainable recommender) get no update at all, as in the paper's code, which freezes
    them on those batches. The fraction of hybrid steps is logged as `hybrid_fraction`.

    Args:
        model: the LLaRA model (e.g. from `LlaraForRecommendation.from_backbone`).
        args: a [`CurriculumSFTConfig`].
        processor: the [`LlaraProcessor`] that renders rows; saved with every checkpoint.
        train_dataset / eval_dataset: rows with `history_item_ids`, `candidate_item_ids`,
            `target_item_id` and optionally `template_id` (as `load_llara_dataset` makes them).
        peft_config: e.g. `paper_lora_config()`; unless it names its own `target_modules`, LoRA goes on
            the language model's projections only, and the projector is always fully trained.
    """

    def __init__(
        self,
        model: LlaraForRecommendation,
        args: CurriculumSFTConfig,
        processor: LlaraProcessor,
        train_dataset=None,
        eval_dataset=None,
        peft_config: PeftConfig | None = None,
        **kwargs,
    ):
        if not isinstance(args, CurriculumSFTConfig):
            raise TypeError(f"args must be a CurriculumSFTConfig, got {type(args).__name__}.")
        if not isinstance(model, LlaraForRecommendation):
            raise TypeError(
                f"model must be a LlaraForRecommendation, got {type(model).__name__}: wrap a causal LM with "
                "`LlaraForRecommendation.from_backbone`."
            )
        check_processor_matches_model(processor, model)
        model.config.freeze_recommender = not args.train_recommender
        model.model.recommender.requires_grad_(args.train_recommender)
        model.config.prompt_form = trained_prompt_form(args.curriculum)
        if peft_config is not None:
            peft_config = _aim_peft_config(peft_config, model, args.train_recommender)
            if args.push_to_hub and args.should_save:
                # An adapter repo must name a real base: the untrained LLaRA model, published beside it.
                from ..hub import publish_llara_base

                repo_name = args.hub_model_id or os.path.basename(os.path.abspath(args.output_dir))
                publish_llara_base(
                    model,
                    processor,
                    f"{repo_name}-base",
                    peft_config=peft_config,
                    token=args.hub_token,
                    private=args.hub_private_repo,
                )
        self.processor = processor
        super().__init__(
            model=model,
            args=args,
            data_collator=kwargs.pop("data_collator", None) or LlaraCurriculumCollator(processor),
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=processor.tokenizer,
            peft_config=peft_config,
            **kwargs,
        )
        self._items_only_parameters = [
            parameter
            for name, parameter in self.model.named_parameters()
            if parameter.requires_grad and (".projector." in name or ".recommender." in name)
        ]

    def is_hybrid_step(self, step: int) -> bool:
        """Whether optimisation step `step` (0-based) uses hybrid prompts."""
        return is_hybrid_step(
            self.args.curriculum,
            step,
            max(self.state.max_steps, 1),
            self.args.curriculum_seed,
            self.args.curriculum_switch_fraction,
        )

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if model.training:
            hybrid = self.is_hybrid_step(self.state.global_step)
            self._metrics["train"]["hybrid_fraction"].append(float(hybrid))
        else:
            hybrid = self.args.curriculum != "text"
        inputs = select_prompt_form(inputs, hybrid)
        if not return_outputs:
            inputs = score_answer_positions_only(inputs)
        return super().compute_loss(
            model,
            inputs,
            return_outputs=return_outputs,
            num_items_in_batch=num_items_in_batch,
        )

    def training_step(self, model, inputs, num_items_in_batch=None):
        loss = super().training_step(model, inputs, num_items_in_batch)
        if not self.is_hybrid_step(self.state.global_step):
            for parameter in self._items_only_parameters:
                parameter.grad = None
        return loss

    def evaluate(
        self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval"
    ) -> dict[str, float]:
        """The loss, plus recommendation metrics on the stored candidates (`recommendation_eval_protocol`).

        `ranking` adds likelihood-ranking HR@k/NDCG@k; `paper` adds the paper's ValidRatio, HR@1 and their
        product `hr1_x_valid_ratio`, its checkpoint-selection metric: set `metric_for_best_model` to
        `eval_paper_hr1_x_valid_ratio` or `eval_ranking_hr@1`. Each process scores its own share of the
        rows; `{protocol}_num_rows` counts them all.
        """
        metrics = super().evaluate(eval_dataset, ignore_keys=ignore_keys, metric_key_prefix=metric_key_prefix)
        protocol = self.args.recommendation_eval_protocol
        rows = self.eval_dataset if eval_dataset is None else eval_dataset
        if protocol == "none" or rows is None or isinstance(rows, (str, dict)):
            return metrics
        results = evaluate_split(
            self.accelerator.unwrap_model(self.model),
            self.processor,
            rows,
            protocol,
            batch_size=self.args.per_device_eval_batch_size,
            limit=self.args.recommendation_eval_rows,
            show_progress=False,
            accelerator=self.accelerator,
        )
        if protocol == "paper":
            results["hr1_x_valid_ratio"] = results["hr@1"] * results["valid_ratio"]
        recommendation = {f"{metric_key_prefix}_{protocol}_{name}": value for name, value in results.items()}
        self.log(recommendation)
        metrics.update(recommendation)
        return metrics

    def curriculum_state(self) -> dict:
        """The curriculum's settings and the form of every optimisation step so far (1 hybrid, 0 text)."""
        steps = range(self.state.global_step)
        return {
            "curriculum": self.args.curriculum,
            "curriculum_seed": self.args.curriculum_seed,
            "curriculum_switch_fraction": self.args.curriculum_switch_fraction,
            "max_steps": self.state.max_steps,
            "global_step": self.state.global_step,
            "hybrid_steps": "".join("1" if self.is_hybrid_step(step) else "0" for step in steps),
        }

    def create_model_card(self, model_name=None, dataset_name=None, tags=None, **kwargs):
        """LLaRA's card (settings, metrics, training curves), also on `push_to_hub`, instead of TRL's."""
        if not self.is_world_process_zero():
            return
        from ..hub import write_llara_model_card

        write_llara_model_card(
            self.args.output_dir,
            self.model,
            self.state.log_history,
            processor=self.processor,
            repo_id=self.hub_model_id,
            curriculum=self.curriculum_state(),
            training=self.args,
            datasets=dataset_name,
            tags=tags,
        )

    def _save(self, output_dir: str | None = None, state_dict=None):
        super()._save(output_dir, state_dict)
        output_dir = output_dir if output_dir is not None else self.args.output_dir
        if self.args.should_save:
            self.processor.save_pretrained(output_dir)
            path = os.path.join(output_dir, CURRICULUM_FILE)
            with open(f"{path}.tmp", "w", encoding="utf-8") as handle:
                json.dump(self.curriculum_state(), handle, indent=2)
            os.replace(f"{path}.tmp", path)


def score_answer_positions_only(inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`inputs` that make TRL's fused LM head score only the positions with a label (the answer's).

    Without Triton (on CPU) TRL's head projects every position through the vocabulary, which costs more
    than the rest of a small model's step. With `shift_labels` for the kept positions and the model's
    `hidden_states_to_keep`, it projects only those: the same loss and gradients.
    """
    next_token_labels = torch.nn.functional.pad(inputs["labels"][:, 1:], (0, 1), value=-100)
    keep = next_token_labels != -100
    return {**inputs, "shift_labels": next_token_labels[keep].unsqueeze(0), "hidden_states_to_keep": keep}


def check_processor_matches_model(processor: LlaraProcessor, model: LlaraForRecommendation) -> None:
    """Raise a `ValueError` when the processor and the model disagree on the placeholder or the catalogue."""
    if processor.item_token_id != model.config.item_token_id:
        raise ValueError(
            f"The processor's placeholder token id {processor.item_token_id} differs from the model's "
            f"{model.config.item_token_id}: build the model with `from_backbone(..., tokenizer=processor.tokenizer)`."
        )
    if processor.catalogue.num_items != model.config.num_items:
        raise ValueError(
            f"The item catalogue has {processor.catalogue.num_items} items but the model's recommender has "
            f"{model.config.num_items}: train the recommender on the same catalogue as the dataset."
        )


def _aim_peft_config(
    peft_config: PeftConfig, model: LlaraForRecommendation, train_recommender: bool
) -> PeftConfig:
    if getattr(peft_config, "target_modules", "unset") is None:
        peft_config.target_modules = language_model_lora_targets(model)
    modules_to_save = list(peft_config.modules_to_save or [])
    for module in ["projector"] + (["recommender"] if train_recommender else []):
        if module not in modules_to_save:
            modules_to_save.append(module)
    peft_config.modules_to_save = modules_to_save
    return peft_config


__all__ = ["CurriculumSFTTrainer"]
