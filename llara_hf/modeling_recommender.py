"""The interface every sequential recommender offers LLaRA, and the plainest one: an item-embedding table."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from .configuration_recommenders import ItemEmbeddingsConfig, SequentialRecommenderConfig


@dataclass
class RecommenderOutput(ModelOutput):
    """Scores over the whole catalogue.

    Args:
        loss: cross-entropy of the `labels` (the next items) over the whole catalogue, when given.
        logits: `(batch, num_items)` scores of every item as the next one.
        user_embeddings: `(batch, hidden_size)` the encoded histories.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    user_embeddings: torch.FloatTensor | None = None


class SequentialRecommender(PreTrainedModel):
    """Base of the recommenders: an item-embedding table plus a history encoder.

    Subclasses implement `encode_history(item_ids, mask) -> (batch, hidden_size)`; scores are the dot
    products of that user state with every item embedding. Histories come right-padded, oldest first,
    with their lengths: padding is handled by masks, never by a reserved item id.
    """

    config: SequentialRecommenderConfig
    config_class = SequentialRecommenderConfig
    base_model_prefix = "recommender"
    main_input_name = "history_item_ids"

    def __init__(self, config: SequentialRecommenderConfig):
        super().__init__(config)
        self.item_embedding = nn.Embedding(config.num_items, config.hidden_size)

    def item_embeddings(self, item_ids: torch.LongTensor) -> torch.Tensor:
        """Embeddings of `item_ids`, any shape, as `(*item_ids.shape, hidden_size)`."""
        return self.item_embedding(item_ids)

    def prepare_history(
        self, history_item_ids: torch.LongTensor, history_lengths: torch.LongTensor | None = None
    ) -> tuple[torch.LongTensor, torch.BoolTensor]:
        """Check the histories and keep each one's most recent `max_history_length` items.

        Returns right-padded ids (oldest first, padding set to 0) and the mask of real items.
        """
        if history_item_ids.dim() != 2:
            raise ValueError(
                f"history_item_ids must be (batch, length), got shape {tuple(history_item_ids.shape)}."
            )
        batch_size, length = history_item_ids.shape
        if history_lengths is None:
            history_lengths = torch.full((batch_size,), length, device=history_item_ids.device)
        history_lengths = history_lengths.to(history_item_ids.device)
        if length == 0 or bool((history_lengths < 1).any()):
            row = 0 if length == 0 else int(torch.nonzero(history_lengths < 1)[0, 0])
            raise ValueError(
                f"Empty history in row {row}: a sequential recommender needs at least one past item."
            )
        if bool((history_lengths > length).any()):
            raise ValueError(
                f"history_lengths up to {int(history_lengths.max())} exceed the {length} columns of history_item_ids."
            )
        kept = history_lengths.clamp(max=self.config.max_history_length)
        width = int(kept.max())
        offsets = torch.arange(width, device=history_item_ids.device)
        mask = offsets.unsqueeze(0) < kept.unsqueeze(1)
        positions = (history_lengths - kept).unsqueeze(1) + offsets.unsqueeze(0)
        item_ids = history_item_ids.gather(1, positions.clamp(max=length - 1))
        item_ids = torch.where(mask, item_ids, torch.zeros_like(item_ids))
        outside = mask & ((item_ids < 0) | (item_ids >= self.config.num_items))
        if bool(outside.any()):
            bad = int(item_ids[outside][0])
            raise ValueError(
                f"Unknown item id {bad} in a history: this recommender has ids 0..{self.config.num_items - 1}."
            )
        return item_ids, mask

    def encode_history(self, item_ids: torch.LongTensor, mask: torch.BoolTensor) -> torch.Tensor:
        """The user state `(batch, hidden_size)` of right-padded histories."""
        raise NotImplementedError(f"{type(self).__name__} must implement encode_history.")

    def forward(
        self,
        history_item_ids: torch.LongTensor,
        history_lengths: torch.LongTensor | None = None,
        labels: torch.LongTensor | None = None,
        **kwargs,
    ) -> RecommenderOutput:
        """Score every item as the next one after each history.

        Args:
            history_item_ids: `(batch, length)` item ids, oldest first, right-padded with any value.
            history_lengths: `(batch,)` number of real items per row; all `length` when omitted.
            labels: `(batch,)` the items that came next; adds the cross-entropy over all items as `loss`.
        """
        item_ids, mask = self.prepare_history(history_item_ids, history_lengths)
        user_embeddings = self.encode_history(item_ids, mask)
        logits = user_embeddings @ self.item_embedding.weight.T
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits, labels.to(logits.device))
        return RecommenderOutput(loss=loss, logits=logits, user_embeddings=user_embeddings)


class ItemEmbeddingsRecommender(SequentialRecommender):
    """A trainable item table; a user is the mean of their history's item embeddings."""

    config: ItemEmbeddingsConfig
    config_class = ItemEmbeddingsConfig

    def __init__(self, config: ItemEmbeddingsConfig):
        super().__init__(config)
        self.post_init()

    def encode_history(self, item_ids: torch.LongTensor, mask: torch.BoolTensor) -> torch.Tensor:
        weights = mask.unsqueeze(-1).to(self.item_embedding.weight.dtype)
        return (self.item_embeddings(item_ids) * weights).sum(1) / weights.sum(1)
