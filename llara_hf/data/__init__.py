"""The data layer: LLaRA release files, raw MovieLens or your own tables, to rows of prompts."""

from .builder import LlaraDatasetBuilder, load_item_catalogue, load_llara_dataset, named_config
from .config import LlaraDataConfig
from .rows import ROW_FEATURES
from .sources import detect_layout
from .titles import movielens_title

__all__ = [
    "ROW_FEATURES",
    "LlaraDataConfig",
    "LlaraDatasetBuilder",
    "detect_layout",
    "load_item_catalogue",
    "load_llara_dataset",
    "movielens_title",
    "named_config",
]
