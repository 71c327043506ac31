"""llara-hf: LLaRA (Large Language-Recommendation Assistant, SIGIR 2024) for the Hugging Face ecosystem."""

from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

from .backbones import DEFAULT_BACKBONE, load_backbone, load_backbone_tokenizer, resolve_backbone
from .candidate_scoring import score_candidates
from .configuration_llara import LlaraConfig
from .configuration_recommenders import (
    RECOMMENDER_CONFIG_CLASSES,
    CaserConfig,
    GRU4RecConfig,
    ItemEmbeddingsConfig,
    SASRecConfig,
    SequentialRecommenderConfig,
)
from .data import LlaraDataConfig, LlaraDatasetBuilder, load_item_catalogue, load_llara_dataset
from .evaluation import PROTOCOLS, evaluate, load_model_and_processor, predict, protocol_metrics
from .hub import push_llara_dataset_to_hub, push_llara_to_hub, write_llara_model_card
from .item_catalogue import ItemCatalogue
from .modeling_caser import CaserModel
from .modeling_gru4rec import GRU4RecModel
from .modeling_llara import LlaraForRecommendation, LlaraModel, LlaraPreTrainedModel, LlaraProjector
from .modeling_recommender import ItemEmbeddingsRecommender, RecommenderOutput, SequentialRecommender
from .modeling_sasrec import SASRecModel
from .processing_llara import LlaraProcessor
from .prompt_templates import DEFAULT_ITEM_TOKEN, PROMPT_TEMPLATES, render_prompt
from .recommendation import recommend
from .recommender_registry import RECOMMENDER_CLASSES, load_recommender, recommender_from_config
from .recommenders import RecommenderTrainingArguments, evaluate_recommender, train_recommender
from .train_llara import LlaraTrainArguments, build_trainer, train_llara
from .training import (
    CURRICULA,
    CurriculumSFTConfig,
    CurriculumSFTTrainer,
    LlaraCurriculumCollator,
    paper_lora_config,
)

__version__ = "0.1.0"

AutoConfig.register(LlaraConfig.model_type, LlaraConfig, exist_ok=True)
AutoModel.register(LlaraConfig, LlaraModel, exist_ok=True)
AutoModelForCausalLM.register(LlaraConfig, LlaraForRecommendation, exist_ok=True)
for _model_type, _model_class in RECOMMENDER_CLASSES.items():
    AutoConfig.register(_model_type, _model_class.config_class, exist_ok=True)
    AutoModel.register(_model_class.config_class, _model_class, exist_ok=True)
# Saved folders carry this package's modelling code, so they load with `trust_remote_code=True`
# in a process that never imports llara_hf.
LlaraConfig.register_for_auto_class()
LlaraForRecommendation.register_for_auto_class("AutoModelForCausalLM")

__all__ = [
    "CURRICULA",
    "DEFAULT_BACKBONE",
    "DEFAULT_ITEM_TOKEN",
    "PROMPT_TEMPLATES",
    "PROTOCOLS",
    "RECOMMENDER_CLASSES",
    "RECOMMENDER_CONFIG_CLASSES",
    "CaserConfig",
    "CaserModel",
    "CurriculumSFTConfig",
    "CurriculumSFTTrainer",
    "GRU4RecConfig",
    "GRU4RecModel",
    "ItemCatalogue",
    "ItemEmbeddingsConfig",
    "ItemEmbeddingsRecommender",
    "LlaraConfig",
    "LlaraCurriculumCollator",
    "LlaraDataConfig",
    "LlaraDatasetBuilder",
    "LlaraForRecommendation",
    "LlaraModel",
    "LlaraPreTrainedModel",
    "LlaraProcessor",
    "LlaraProjector",
    "LlaraTrainArguments",
    "RecommenderOutput",
    "RecommenderTrainingArguments",
    "SASRecConfig",
    "SASRecModel",
    "SequentialRecommender",
    "SequentialRecommenderConfig",
    "build_trainer",
    "evaluate",
    "evaluate_recommender",
    "load_backbone",
    "load_backbone_tokenizer",
    "load_item_catalogue",
    "load_llara_dataset",
    "load_model_and_processor",
    "load_recommender",
    "paper_lora_config",
    "predict",
    "protocol_metrics",
    "push_llara_dataset_to_hub",
    "push_llara_to_hub",
    "recommend",
    "recommender_from_config",
    "render_prompt",
    "resolve_backbone",
    "score_candidates",
    "train_llara",
    "train_recommender",
    "write_llara_model_card",
]
