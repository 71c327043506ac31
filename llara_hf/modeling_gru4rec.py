"""GRU4Rec: session-based recommendation with recurrent neural networks (Hidasi et al., ICLR 2016)."""

from __future__ import annotations

import torch
from torch import nn
from transformers import initialization as init

from .configuration_recommenders import GRU4RecConfig
from .modeling_recommender import SequentialRecommender


class GRU4RecModel(SequentialRecommender):
    """GRU4Rec: a GRU reads the history's item embeddings; the user is its output after the last real item."""

    config: GRU4RecConfig
    config_class = GRU4RecConfig

    def __init__(self, config: GRU4RecConfig):
        super().__init__(config)
        self.embedding_dropout = nn.Dropout(config.dropout)
        self.gru = nn.GRU(
            config.hidden_size, config.hidden_size, num_layers=config.num_hidden_layers, batch_first=True
        )
        self.post_init()

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.GRU):
            for name, parameter in module.named_parameters():
                if name.startswith("weight"):
                    init.xavier_uniform_(parameter)
                else:
                    init.zeros_(parameter)
        else:
            super()._init_weights(module)

    def encode_history(self, item_ids: torch.LongTensor, mask: torch.BoolTensor) -> torch.Tensor:
        # A GRU is causal: its output at the last real position never sees the padding after it.
        outputs, _ = self.gru(self.embedding_dropout(self.item_embeddings(item_ids)))
        last = (mask.sum(1) - 1).view(-1, 1, 1).expand(-1, 1, outputs.shape[-1])
        return outputs.gather(1, last).squeeze(1)


__all__ = ["GRU4RecModel"]
