"""Which recommender class a recommender config builds, and loading a trained one by path or Hub id."""

from __future__ import annotations

import os

from .configuration_recommenders import SequentialRecommenderConfig, recommender_config_from_dict
from .modeling_caser import CaserModel
from .modeling_gru4rec import GRU4RecModel
from .modeling_recommender import ItemEmbeddingsRecommender, SequentialRecommender
from .modeling_sasrec import SASRecModel

RECOMMENDER_CLASSES: dict[str, type[SequentialRecommender]] = {
    model_class.config_class.model_type: model_class
    for model_class in (ItemEmbeddingsRecommender, SASRecModel, GRU4RecModel, CaserModel)
}


def recommender_from_config(config: dict | SequentialRecommenderConfig) -> SequentialRecommender:
    """A freshly initialised recommender of the config's type."""
    config = recommender_config_from_dict(config)
    return RECOMMENDER_CLASSES[config.model_type](config)


def load_recommender(name_or_path: str | os.PathLike, **kwargs) -> SequentialRecommender:
    """Load a trained recommender saved with `save_pretrained`, from a folder or a Hub id."""
    from transformers import PreTrainedConfig

    config_dict, _ = PreTrainedConfig.get_config_dict(name_or_path, **kwargs)
    config = recommender_config_from_dict(config_dict)
    return RECOMMENDER_CLASSES[config.model_type].from_pretrained(name_or_path, config=config, **kwargs)
