"""Evaluation of LLaRA models: the paper's protocol, likelihood ranking, constrained decoding and full-catalogue
two-stage recommendation, behind one `evaluate` entry point."""

from .answers import first_line, judge_answer, matched_candidates, paper_metrics
from .evaluate import METRICS_FILE, PREDICTIONS_FILE, evaluate, predict, write_results
from .generation import generate_answers, generate_constrained
from .loading import BASE_FOLDER, adapter_base, is_llara_model, load_llara_folder, load_model_and_processor
from .protocols import PROTOCOLS, protocol_metrics

__all__ = [
    "BASE_FOLDER",
    "METRICS_FILE",
    "PREDICTIONS_FILE",
    "PROTOCOLS",
    "adapter_base",
    "evaluate",
    "first_line",
    "generate_answers",
    "generate_constrained",
    "is_llara_model",
    "judge_answer",
    "load_llara_folder",
    "load_model_and_processor",
    "matched_candidates",
    "paper_metrics",
    "predict",
    "protocol_metrics",
    "write_results",
]
