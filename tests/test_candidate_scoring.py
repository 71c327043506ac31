"""Likelihood ranking with a shared prompt cache: the same scores as a full forward pass per candidate."""

import pytest
import torch
from tiny_models import tiny_llara, tiny_processor

from llara_hf.candidate_scoring import (
    encode_candidate_prompt,
    score_candidate_prompts,
    score_candidates,
)
from llara_hf.processing_llara import IGNORE_INDEX

ROWS = [
    {
        "history_item_ids": [0, 1, 2],
        "candidate_item_ids": [3, 4, 5, 6, 12],
        "target_item_id": 4,
        "template_id": 0,
    },
    {
        "history_item_ids": [7, 8],
        "candidate_item_ids": [9, 10, 11, 0, 1],
        "target_item_id": 9,
        "template_id": 2,
    },
    {
        "history_item_ids": [5, 6, 7, 8, 9, 10],
        "candidate_item_ids": [12, 0, 13, 2, 3],
        "target_item_id": 13,
        "template_id": 1,
    },
]


@pytest.fixture(scope="module")
def processor():
    # 14 items: "Toy Story 12" shares its first tokens with "Toy Story", "Heat 13" with "Heat".
    return tiny_processor(14)


def full_forward_scores(model, processor, row, hybrid):
    """Each candidate's log-likelihood from one forward pass over prompt + answer, without a cache."""
    prompt = encode_candidate_prompt(
        processor, row["history_item_ids"], row["candidate_item_ids"], hybrid, row["template_id"]
    )
    scores = []
    for answer in prompt.completion_ids:
        input_ids = torch.tensor([prompt.prompt_ids + answer])
        item_ids = torch.tensor(prompt.item_ids) if hybrid else None
        with torch.no_grad():
            log_probs = model(input_ids=input_ids, item_ids=item_ids).logits[0].log_softmax(-1)
        start = len(prompt.prompt_ids)
        scores.append(sum(log_probs[start - 1 + t, token].item() for t, token in enumerate(answer)))
    return torch.tensor(scores)


@pytest.mark.parametrize("family", ["llama", "qwen2", "gemma"])
@pytest.mark.parametrize("prompt_form", ["text", "hybrid"])
@pytest.mark.parametrize("batch_size", [1, 3])
def test_cached_scores_match_full_forward_passes(processor, family, prompt_form, batch_size):
    model = tiny_llara(processor, family, seed=1)
    scores = score_candidates(model, processor, ROWS, prompt_form=prompt_form, batch_size=batch_size)
    assert scores.shape == (3, 5)
    for row, row_scores in zip(ROWS, scores, strict=True):
        expected = full_forward_scores(model, processor, row, prompt_form == "hybrid")
        torch.testing.assert_close(row_scores, expected, atol=1e-4, rtol=0)


def test_the_target_score_is_minus_the_training_loss_summed(processor):
    model = tiny_llara(processor, seed=2)
    row = ROWS[0]
    encoding = processor.encode(
        row["history_item_ids"], row["candidate_item_ids"], row["target_item_id"], hybrid=True
    )
    batch = {key: torch.tensor([value]) for key, value in encoding.items()}
    with torch.no_grad():
        loss = model(**batch).loss
    num_answer_tokens = sum(label != IGNORE_INDEX for label in encoding["labels"])
    score = score_candidates(model, processor, [row], prompt_form="hybrid")[0, 1]
    assert score.item() == pytest.approx(-loss.item() * num_answer_tokens, abs=1e-4)


def test_mean_reduction_divides_by_the_answer_length(processor):
    model = tiny_llara(processor, seed=3)
    prompt = encode_candidate_prompt(processor, [0, 1], [2, 3, 12], hybrid=False)
    summed = score_candidate_prompts(model, [prompt], processor.tokenizer.pad_token_id, "sum")[0]
    mean = score_candidate_prompts(model, [prompt], processor.tokenizer.pad_token_id, "mean")[0]
    lengths = torch.tensor([len(ids) for ids in prompt.completion_ids], dtype=torch.float32)
    torch.testing.assert_close(mean, summed / lengths)


def test_rows_with_fewer_candidates_are_padded_with_minus_infinity(processor):
    model = tiny_llara(processor, seed=4)
    rows = [
        {"history_item_ids": [0], "candidate_item_ids": [1, 2, 3]},
        {"history_item_ids": [4], "candidate_item_ids": [5]},
    ]
    scores = score_candidates(model, processor, rows, prompt_form="text", batch_size=2)
    assert scores.shape == (2, 3)
    assert torch.isfinite(scores[0]).all() and torch.isfinite(scores[1, 0])
    assert torch.isinf(scores[1, 1:]).all()
    torch.testing.assert_close(
        scores[1, :1], score_candidates(model, processor, rows[1:], prompt_form="text")[0]
    )


def test_default_prompt_form_is_the_models(processor):
    text_model = tiny_llara(processor, seed=5, prompt_form="text")
    hybrid_model = tiny_llara(processor, seed=5, prompt_form="hybrid")
    torch.testing.assert_close(
        score_candidates(text_model, processor, ROWS[:1]),
        score_candidates(hybrid_model, processor, ROWS[:1], "text"),
    )
    torch.testing.assert_close(
        score_candidates(hybrid_model, processor, ROWS[:1]),
        score_candidates(text_model, processor, ROWS[:1], "hybrid"),
    )


def test_bad_arguments_fail_with_the_fix(processor):
    model = tiny_llara(processor)
    with pytest.raises(ValueError, match="prompt_form"):
        score_candidates(model, processor, ROWS, prompt_form="image")
    with pytest.raises(ValueError, match="reduction"):
        score_candidates(model, processor, ROWS, reduction="max")
    with pytest.raises(ValueError, match="No rows"):
        score_candidates(model, processor, [])
    with pytest.raises(ValueError, match="Unknown candidate item id 99"):
        score_candidates(model, processor, [{"history_item_ids": [0], "candidate_item_ids": [99]}])
    model.config.text_config._attn_implementation = "flash_attention_2"
    with pytest.raises(ValueError, match="attn_implementation='sdpa'"):
        score_candidates(model, processor, ROWS)
