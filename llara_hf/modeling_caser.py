"""Caser: personalized top-N sequential recommendation via convolutional sequence embedding (Tang & Wang, WSDM 2018)."""

from __future__ import annotations

import torch
from torch import nn

from .configuration_recommenders import CaserConfig
from .modeling_recommender import SequentialRecommender


class CaserModel(SequentialRecommender):
    """Caser: convolutions over the `(L x hidden)` matrix of the `L = max_history_length` latest items.

    Horizontal filters of several heights slide over consecutive items and are max-pooled over time
    (union-level patterns); vertical filters weigh the `L` rows (point-level patterns). Histories are
    aligned on their most recent item, shorter ones padded with zero rows, so each vertical weight belongs
    to a recency. The features go through dropout and a linear layer to the user state (no user
    embedding: LLaRA's rows carry no user identity).
    """

    config: CaserConfig
    config_class = CaserConfig

    def __init__(self, config: CaserConfig):
        super().__init__(config)
        self.horizontal_convolutions = nn.ModuleList(
            nn.Conv2d(1, config.num_horizontal_filters, (height, config.hidden_size))
            for height in config.horizontal_filter_heights
        )
        self.vertical_convolution = nn.Conv2d(1, config.num_vertical_filters, (config.max_history_length, 1))
        features = (
            config.num_horizontal_filters * len(config.horizontal_filter_heights)
            + config.num_vertical_filters * config.hidden_size
        )
        self.dropout = nn.Dropout(config.dropout)
        self.user_projection = nn.Linear(features, config.hidden_size)
        self.post_init()

    def encode_history(self, item_ids: torch.LongTensor, mask: torch.BoolTensor) -> torch.Tensor:
        size = self.config.max_history_length
        lengths = mask.sum(1, keepdim=True)
        # Row r of the matrix holds the item `size - 1 - r` steps before the latest one, or zeros.
        source = torch.arange(size, device=item_ids.device).unsqueeze(0) - (size - lengths)
        present = source >= 0
        item_ids = item_ids.gather(1, source.clamp(min=0, max=item_ids.shape[1] - 1))
        matrix = (self.item_embeddings(item_ids) * present.unsqueeze(-1)).unsqueeze(1)
        horizontal = [
            nn.functional.relu(convolution(matrix)).squeeze(-1).amax(-1)
            for convolution in self.horizontal_convolutions
        ]
        vertical = self.vertical_convolution(matrix).flatten(1)
        return self.user_projection(self.dropout(torch.cat([*horizontal, vertical], dim=1)))


__all__ = ["CaserModel"]
