"""Configurations of the sequential recommenders whose item embeddings LLaRA projects into the LLM."""

from __future__ import annotations

from transformers import PreTrainedConfig


class SequentialRecommenderConfig(PreTrainedConfig):
    """Fields every sequential recommender shares.

    Args:
        num_items: size of the item catalogue; item ids are `0 .. num_items - 1`.
        hidden_size: size of the item embeddings (the paper uses 64).
        max_history_length: longer histories keep their most recent items.
        initializer_range: standard deviation of the normal initialisation.
    """

    num_items: int = 1
    hidden_size: int = 64
    max_history_length: int = 10
    initializer_range: float = 0.02

    def __post_init__(self, **kwargs):
        if self.num_items < 1:
            raise ValueError(f"num_items must be at least 1, got {self.num_items}.")
        if self.hidden_size < 1:
            raise ValueError(f"hidden_size must be at least 1, got {self.hidden_size}.")
        if self.max_history_length < 1:
            raise ValueError(f"max_history_length must be at least 1, got {self.max_history_length}.")
        super().__post_init__(**kwargs)


class ItemEmbeddingsConfig(SequentialRecommenderConfig):
    """A plain trainable item-embedding table; users are the mean of their history's embeddings."""

    model_type = "llara_item_embeddings"


class SASRecConfig(SequentialRecommenderConfig):
    """SASRec (Kang & McAuley, 2018): causal self-attention over the history; the user is the last item's output.

    Args:
        num_hidden_layers: number of self-attention blocks.
        num_attention_heads: attention heads per block; must divide `hidden_size`.
        dropout: dropout on the embeddings, the attention weights and the feed-forward outputs.
    """

    model_type = "sasrec"

    num_hidden_layers: int = 2
    num_attention_heads: int = 1
    dropout: float = 0.2

    def __post_init__(self, **kwargs):
        if self.num_hidden_layers < 1:
            raise ValueError(f"num_hidden_layers must be at least 1, got {self.num_hidden_layers}.")
        if self.num_attention_heads < 1 or self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"num_attention_heads ({self.num_attention_heads}) must be positive and divide "
                f"hidden_size ({self.hidden_size})."
            )
        _check_dropout(self.dropout)
        super().__post_init__(**kwargs)


class GRU4RecConfig(SequentialRecommenderConfig):
    """GRU4Rec (Hidasi et al., 2016): a GRU over the history; the user is its state after the last item.

    Args:
        num_hidden_layers: stacked GRU layers.
        dropout: dropout on the item embeddings fed to the GRU.
    """

    model_type = "gru4rec"

    num_hidden_layers: int = 1
    dropout: float = 0.2

    def __post_init__(self, **kwargs):
        if self.num_hidden_layers < 1:
            raise ValueError(f"num_hidden_layers must be at least 1, got {self.num_hidden_layers}.")
        _check_dropout(self.dropout)
        super().__post_init__(**kwargs)


class CaserConfig(SequentialRecommenderConfig):
    """Caser (Tang & Wang, 2018): horizontal and vertical convolutions over the `(L x hidden)` history matrix.

    `L` is `max_history_length`; shorter histories are aligned on their most recent item and padded with
    zero rows.

    Args:
        horizontal_filter_heights: heights of the horizontal filters (each at most `max_history_length`).
        num_horizontal_filters: horizontal filters per height.
        num_vertical_filters: vertical filters, each a weighted sum of the `L` rows.
        dropout: dropout on the concatenated convolution features.
    """

    model_type = "caser"

    horizontal_filter_heights: tuple[int, ...] | list[int] = (2, 3, 4)
    num_horizontal_filters: int = 16
    num_vertical_filters: int = 1
    dropout: float = 0.2

    def __post_init__(self, **kwargs):
        self.horizontal_filter_heights = [int(height) for height in self.horizontal_filter_heights]
        too_tall = [h for h in self.horizontal_filter_heights if not 1 <= h <= self.max_history_length]
        if not self.horizontal_filter_heights or too_tall:
            raise ValueError(
                f"horizontal_filter_heights {self.horizontal_filter_heights} must be non-empty, each between 1 "
                f"and max_history_length ({self.max_history_length})."
            )
        if self.num_horizontal_filters < 1 or self.num_vertical_filters < 1:
            raise ValueError(
                f"num_horizontal_filters ({self.num_horizontal_filters}) and num_vertical_filters "
                f"({self.num_vertical_filters}) must be at least 1."
            )
        _check_dropout(self.dropout)
        super().__post_init__(**kwargs)


def _check_dropout(dropout: float) -> None:
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}.")


RECOMMENDER_CONFIG_CLASSES: dict[str, type[SequentialRecommenderConfig]] = {
    config_class.model_type: config_class
    for config_class in (ItemEmbeddingsConfig, SASRecConfig, GRU4RecConfig, CaserConfig)
}


def recommender_config_from_dict(config: dict | SequentialRecommenderConfig) -> SequentialRecommenderConfig:
    """Build the recommender config named by `config["model_type"]`."""
    if isinstance(config, PreTrainedConfig):
        if type(config) is RECOMMENDER_CONFIG_CLASSES.get(config.model_type):
            return config
        # The same class from another copy of this module, as `trust_remote_code` loading makes.
        config = config.to_dict()
    if not isinstance(config, dict):
        raise TypeError(
            f"recommender_config must be a dict or a recommender config, got {type(config).__name__}."
        )
    model_type = config.get("model_type", ItemEmbeddingsConfig.model_type)
    if model_type not in RECOMMENDER_CONFIG_CLASSES:
        raise ValueError(
            f"Unknown recommender model_type {model_type!r}: use one of {sorted(RECOMMENDER_CONFIG_CLASSES)}."
        )
    return RECOMMENDER_CONFIG_CLASSES[model_type](**{k: v for k, v in config.items() if k != "model_type"})
