"""Greedy generation of answers, free (the paper's protocol) or restricted to the candidates.

Prompts are left-padded and, for hybrid prompts, carry their item ids (injected on the prefill step
only). Free generation follows the paper: greedy, at most 64 new tokens, at least one. Only the first
line of an answer counts, so a row stops as soon as its first line is complete (a newline after
non-blank text): the answers read are exactly those of running all 64 tokens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

from ..constrained_decoding import CandidateTrieLogitsProcessor

PAPER_MAX_NEW_TOKENS = 64


class FirstLineComplete(StoppingCriteria):
    """True for the rows whose generated text, left-stripped, already holds a newline."""

    def __init__(self, tokenizer, prompt_length: int):
        self.tokenizer = tokenizer
        self.prompt_length = prompt_length

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        texts = self.tokenizer.batch_decode(
            input_ids[:, self.prompt_length :], skip_special_tokens=True, clean_up_tokenization_spaces=False
        )
        return torch.tensor(
            ["\n" in text.lstrip() for text in texts], dtype=torch.bool, device=input_ids.device
        )


def greedy_config(model, tokenizer, max_new_tokens: int, min_new_tokens: int = 0) -> GenerationConfig:
    """Greedy decoding with the model's special tokens and suppressed tokens (its item placeholder)."""
    base = model.generation_config
    return GenerationConfig(
        do_sample=False,
        num_beams=1,
        max_new_tokens=max_new_tokens,
        min_new_tokens=min_new_tokens,
        bos_token_id=base.bos_token_id,
        eos_token_id=base.eos_token_id if base.eos_token_id is not None else tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        suppress_tokens=base.suppress_tokens,
    )


def encode_prompts(processor, rows: Sequence[Mapping], hybrid: bool) -> dict[str, torch.Tensor]:
    """Left-padded prompts of dataset rows: `input_ids`, `attention_mask` and, when hybrid, `item_ids`."""
    batch = processor(
        [row["history_item_ids"] for row in rows],
        [row["candidate_item_ids"] for row in rows],
        hybrid=hybrid,
        template_ids=[int(row.get("template_id") or 0) for row in rows],
        padding_side="left",
    )
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    if hybrid:
        inputs["item_ids"] = batch["item_ids"]
    return inputs


@torch.no_grad()
def generate_answers(
    model, processor, rows: Sequence[Mapping], hybrid: bool, max_new_tokens: int = PAPER_MAX_NEW_TOKENS
) -> list[str]:
    """The paper's greedy generations (decoded new tokens, special tokens skipped), one per row."""
    inputs = {key: value.to(model.device) for key, value in encode_prompts(processor, rows, hybrid).items()}
    prompt_length = inputs["input_ids"].shape[1]
    sequences = model.generate(
        **inputs,
        generation_config=greedy_config(model, processor.tokenizer, max_new_tokens, min_new_tokens=1),
        stopping_criteria=StoppingCriteriaList([FirstLineComplete(processor.tokenizer, prompt_length)]),
    )
    return processor.tokenizer.batch_decode(
        sequences[:, prompt_length:], skip_special_tokens=True, clean_up_tokenization_spaces=False
    )


@torch.no_grad()
def generate_constrained(
    model, processor, rows: Sequence[Mapping], hybrid: bool
) -> list[tuple[int | None, str]]:
    """Greedy generation restricted to each row's candidate answers.

    Returns, per row, the index of the candidate generated (None only if the answer were cut short,
    which `max_new_tokens` = the longest answer rules out) and the generated text, without the space
    that separates it from the prompt.
    """
    tokenizer = processor.tokenizer
    if tokenizer.eos_token_id is None:
        raise ValueError(
            "Constrained decoding ends answers with the end-of-sequence token; the tokenizer has none."
        )
    completions = [
        [
            processor.encode_completion(processor.catalogue.titles[int(item)])
            for item in row["candidate_item_ids"]
        ]
        for row in rows
    ]
    inputs = {key: value.to(model.device) for key, value in encode_prompts(processor, rows, hybrid).items()}
    prompt_length = inputs["input_ids"].shape[1]
    config = greedy_config(model, tokenizer, max(len(ids) for row in completions for ids in row))
    config.eos_token_id = tokenizer.eos_token_id
    sequences = model.generate(
        **inputs,
        generation_config=config,
        logits_processor=LogitsProcessorList([CandidateTrieLogitsProcessor(completions, prompt_length)]),
    )
    results = []
    for row_completions, generated in zip(completions, sequences[:, prompt_length:].tolist(), strict=True):
        answer = (
            generated[: generated.index(tokenizer.eos_token_id) + 1]
            if tokenizer.eos_token_id in generated
            else generated
        )
        index = next((j for j, ids in enumerate(row_completions) if ids == answer), None)
        results.append((index, tokenizer.decode(answer, skip_special_tokens=True).lstrip()))
    return results
