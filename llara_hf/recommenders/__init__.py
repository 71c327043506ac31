"""The sequential recommenders whose item embeddings LLaRA projects into the LLM, and their trainer."""

from ..configuration_recommenders import CaserConfig, GRU4RecConfig, SASRecConfig
from ..modeling_caser import CaserModel
from ..modeling_gru4rec import GRU4RecModel
from ..modeling_sasrec import SASRecModel
from .trainer import (
    EVALUATION_METRICS,
    RecommenderTrainingArguments,
    SequenceRows,
    evaluate_recommender,
    save_recommender,
    train_recommender,
    write_training_summary,
)

__all__ = [
    "EVALUATION_METRICS",
    "CaserConfig",
    "CaserModel",
    "GRU4RecConfig",
    "GRU4RecModel",
    "RecommenderTrainingArguments",
    "SASRecConfig",
    "SASRecModel",
    "SequenceRows",
    "evaluate_recommender",
    "save_recommender",
    "train_recommender",
    "write_training_summary",
]
