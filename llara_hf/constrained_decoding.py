"""Constrained decoding: generation that can only spell one of a row's candidate answers.

Each row's candidate answers (title, terminator, end of sequence, as `processor.encode_completion`
tokenises them) form a prefix trie; at every step the logits processor keeps only the tokens that extend
the row's generated tokens along its trie. The end-of-sequence token closes every answer, so the answers
are prefix-free and generation stops exactly at the end of one candidate.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import LogitsProcessor

TokenTrie = dict[int, "TokenTrie"]


def build_token_trie(sequences: Sequence[Sequence[int]]) -> TokenTrie:
    """A prefix trie of token sequences: nested dicts from a token to the trie of what may follow it."""
    trie: TokenTrie = {}
    for sequence in sequences:
        if not sequence:
            raise ValueError("An empty token sequence cannot be a candidate answer.")
        node = trie
        for token in sequence:
            node = node.setdefault(int(token), {})
    return trie


def allowed_next_tokens(trie: TokenTrie, prefix: Sequence[int]) -> list[int] | None:
    """The tokens that may follow `prefix`, or None once it has left the trie or completed an answer."""
    node = trie
    for token in prefix:
        node = node.get(int(token))
        if node is None:
            return None
    return list(node) or None


class CandidateTrieLogitsProcessor(LogitsProcessor):
    """Masks every token that would leave the row's candidate trie (a transformers logits processor).

    Args:
        candidate_token_ids: per batch row, its candidates' answer tokens, each ending with the
            end-of-sequence token.
        prompt_length: the (padded) prompt length; tokens after it are the generated ones.

    Rows that completed an answer (generation pads them from then on) are left unconstrained.
    """

    def __init__(self, candidate_token_ids: Sequence[Sequence[Sequence[int]]], prompt_length: int):
        self.tries = [build_token_trie(sequences) for sequences in candidate_token_ids]
        self.prompt_length = prompt_length

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if input_ids.shape[0] != len(self.tries):
            raise ValueError(
                f"Generating {input_ids.shape[0]} sequences for {len(self.tries)} candidate tries: "
                "constrained decoding needs one sequence per row (no beams, no multiple returns)."
            )
        mask = torch.zeros_like(scores, dtype=torch.bool)
        for row, prefix in enumerate(input_ids[:, self.prompt_length :].tolist()):
            allowed = allowed_next_tokens(self.tries[row], prefix)
            if allowed is None:
                mask[row] = True
            else:
                mask[row, allowed] = True
        return scores.masked_fill(~mask, -torch.inf)


__all__ = ["CandidateTrieLogitsProcessor", "allowed_next_tokens", "build_token_trie"]
