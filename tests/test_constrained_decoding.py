"""Constrained decoding: the prefix trie, and generation that always spells exactly one candidate."""

import pytest
import torch
from tiny_models import tiny_llara, tiny_processor

from llara_hf.constrained_decoding import CandidateTrieLogitsProcessor, allowed_next_tokens, build_token_trie
from llara_hf.evaluation import generate_constrained


def test_trie_allows_only_extensions_of_a_candidate():
    trie = build_token_trie([[5, 6, 0], [5, 7, 0], [8, 0]])
    assert sorted(allowed_next_tokens(trie, [])) == [5, 8]
    assert sorted(allowed_next_tokens(trie, [5])) == [6, 7]
    assert allowed_next_tokens(trie, [5, 7]) == [0]
    assert allowed_next_tokens(trie, [5, 7, 0]) is None  # complete
    assert allowed_next_tokens(trie, [9]) is None  # off the trie
    with pytest.raises(ValueError, match="empty token sequence"):
        build_token_trie([[1], []])


def test_logits_processor_masks_everything_off_the_trie():
    processor = CandidateTrieLogitsProcessor([[[1, 2, 0]], [[3, 0], [4, 0]]], prompt_length=2)
    input_ids = torch.tensor([[9, 9, 1], [9, 9, 3]])
    scores = processor(input_ids, torch.zeros(2, 6))
    assert torch.isfinite(scores[0]).nonzero().flatten().tolist() == [2]
    assert torch.isfinite(scores[1]).nonzero().flatten().tolist() == [0]
    with pytest.raises(ValueError, match="one sequence per row"):
        processor(input_ids[:1], torch.zeros(1, 6))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("prompt_form", ["text", "hybrid"])
def test_constrained_generation_is_always_exactly_one_candidate(seed, prompt_form):
    # Titles sharing first tokens ("Toy Story" / "Toy Story 12", "Heat" / "Heat 14") are the hard case.
    processor = tiny_processor(16)
    model = tiny_llara(processor, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for _ in range(4):
        items = torch.randperm(16, generator=generator).tolist()
        rows.append(
            {"history_item_ids": items[:3], "candidate_item_ids": items[3:9], "template_id": seed % 3}
        )
    rows[0]["candidate_item_ids"] = [0, 12, 2, 14, 5]
    results = generate_constrained(model, processor, rows, hybrid=prompt_form == "hybrid")
    for row, (index, answer) in zip(rows, results, strict=True):
        assert index is not None
        title = processor.catalogue.titles[row["candidate_item_ids"][index]]
        assert answer == title + processor.completion_terminator
        assert [
            t for t in processor.catalogue.titles_of(row["candidate_item_ids"]) if t + "\n" == answer
        ] == [title]
