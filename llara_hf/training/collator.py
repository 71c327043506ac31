"""Collating dataset rows into both prompt forms at once, so the trainer can pick one per step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from ..processing_llara import LlaraProcessor

TEXT_PREFIX = "text_"
"""Keys of the text-only variant in a collated batch: `text_input_ids`, `text_attention_mask`, `text_labels`."""


class LlaraCurriculumCollator:
    """Turns rows (`history_item_ids`, `candidate_item_ids`, `target_item_id`, optional `template_id`) into
    a hybrid batch (`input_ids`, `attention_mask`, `item_ids`, `labels`) plus its text-only twin.

    Both forms carry the same completion tokens, so the number of label tokens, which the Trainer counts
    before a step, does not depend on the form the step later uses.
    """

    def __init__(self, processor: LlaraProcessor, pad_to_multiple_of: int | None = None):
        self.processor = processor
        self.pad_to_multiple_of = pad_to_multiple_of

    def __call__(self, rows: Sequence[Mapping]) -> dict[str, torch.Tensor]:
        hybrid, text = [], []
        for row in rows:
            arguments = (row["history_item_ids"], row["candidate_item_ids"], row["target_item_id"])
            template_id = int(row.get("template_id") or 0)
            hybrid.append(self.processor.encode(*arguments, hybrid=True, template_id=template_id))
            text.append(self.processor.encode(*arguments, hybrid=False, template_id=template_id))
        batch = self.processor.pad(hybrid, pad_to_multiple_of=self.pad_to_multiple_of)
        text_batch = self.processor.pad(text, pad_to_multiple_of=self.pad_to_multiple_of)
        batch.update(
            {TEXT_PREFIX + key: text_batch[key] for key in ("input_ids", "attention_mask", "labels")}
        )
        return batch


def select_prompt_form(batch: Mapping[str, torch.Tensor], hybrid: bool) -> dict[str, torch.Tensor]:
    """The model inputs of one form from a collated batch; the text form passes an empty `item_ids`."""
    selected = {key: value for key, value in batch.items() if not key.startswith(TEXT_PREFIX)}
    if not hybrid:
        selected.update(
            {key[len(TEXT_PREFIX) :]: value for key, value in batch.items() if key.startswith(TEXT_PREFIX)}
        )
        selected["item_ids"] = batch["item_ids"].new_empty(0)
    return selected
