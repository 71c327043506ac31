"""SASRec: self-attentive sequential recommendation (Kang & McAuley, ICDM 2018)."""

from __future__ import annotations

import torch
from torch import nn

from .configuration_recommenders import SASRecConfig
from .modeling_recommender import SequentialRecommender


class SASRecBlock(nn.Module):
    """A pre-norm transformer block with causal self-attention and a point-wise feed-forward network."""

    def __init__(self, config: SASRecConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.dropout = config.dropout
        self.attention_norm = nn.LayerNorm(config.hidden_size)
        self.query_key_value = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.attention_output = nn.Linear(config.hidden_size, config.hidden_size)
        self.feed_forward_norm = nn.LayerNorm(config.hidden_size)
        self.feed_forward = nn.Sequential(
            nn.Linear(config.hidden_size, config.hidden_size),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden_size, config.hidden_size),
        )
        self.output_dropout = nn.Dropout(config.dropout)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        batch_size, length, hidden_size = hidden_states.shape
        query, key, value = (
            self.query_key_value(self.attention_norm(hidden_states))
            .view(batch_size, length, 3, self.num_heads, hidden_size // self.num_heads)
            .permute(2, 0, 3, 1, 4)
        )
        # Histories are right-padded, so the causal mask alone keeps real positions off the padding.
        attended = nn.functional.scaled_dot_product_attention(
            query, key, value, is_causal=True, dropout_p=self.dropout if self.training else 0.0
        )
        attended = attended.transpose(1, 2).reshape(batch_size, length, hidden_size)
        hidden_states = hidden_states + self.output_dropout(self.attention_output(attended))
        return hidden_states + self.output_dropout(self.feed_forward(self.feed_forward_norm(hidden_states)))


class SASRecModel(SequentialRecommender):
    """SASRec: item plus recency embeddings, causal self-attention blocks; the user is the last item's output.

    Positions count back from the most recent item (0 is the last one), so a history's newest item has
    the same positional embedding whatever the history's length.
    """

    config: SASRecConfig
    config_class = SASRecConfig

    def __init__(self, config: SASRecConfig):
        super().__init__(config)
        self.position_embedding = nn.Embedding(config.max_history_length, config.hidden_size)
        self.embedding_dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(SASRecBlock(config) for _ in range(config.num_hidden_layers))
        self.final_norm = nn.LayerNorm(config.hidden_size)
        self.post_init()

    def encode_history(self, item_ids: torch.LongTensor, mask: torch.BoolTensor) -> torch.Tensor:
        lengths = mask.sum(1)
        offsets = torch.arange(item_ids.shape[1], device=item_ids.device)
        recency = (lengths.unsqueeze(1) - 1 - offsets.unsqueeze(0)).clamp(min=0)
        hidden_states = self.item_embeddings(item_ids) + self.position_embedding(recency)
        hidden_states = self.embedding_dropout(hidden_states) * mask.unsqueeze(-1)
        for block in self.blocks:
            hidden_states = block(hidden_states)
        last = (lengths - 1).view(-1, 1, 1).expand(-1, 1, hidden_states.shape[-1])
        return self.final_norm(hidden_states.gather(1, last).squeeze(1))


__all__ = ["SASRecModel"]
