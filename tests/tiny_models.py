"""Tiny tokenizers, catalogues and LLaRA models built in memory for the tests (no network, seconds)."""

from __future__ import annotations

import random

import torch
from datasets import Dataset
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    GemmaConfig,
    GPT2Config,
    LlamaConfig,
    MistralConfig,
    PreTrainedTokenizerFast,
    Qwen2Config,
)

from llara_hf import (
    DEFAULT_ITEM_TOKEN,
    PROMPT_TEMPLATES,
    ItemCatalogue,
    ItemEmbeddingsConfig,
    LlaraConfig,
    LlaraForRecommendation,
    LlaraProcessor,
)
from llara_hf.processing_llara import add_item_token

TITLES = [
    "Toy Story",
    "The Usual Suspects",
    "Heat",
    "Jumanji",
    "Casino",
    "Sabrina",
    "GoldenEye",
    "Babe",
    "Braveheart",
    "Apollo 13",
    "Batman Forever",
    "Clueless",
]


def tiny_catalogue(num_items: int = len(TITLES)) -> ItemCatalogue:
    return ItemCatalogue(
        [TITLES[i % len(TITLES)] + ("" if i < len(TITLES) else f" {i}") for i in range(num_items)]
    )


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    """A byte-level BPE trained on the templates and titles, so trailing spaces tokenise as in GPT-style models."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    corpus = [template for templates in PROMPT_TEMPLATES.values() for template in templates] + TITLES * 3
    tokenizer.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token="<|endoftext|>", pad_token="<|endoftext|>"
    )
    add_item_token(fast, DEFAULT_ITEM_TOKEN)
    return fast


def tiny_processor(num_items: int = len(TITLES), **kwargs) -> LlaraProcessor:
    return LlaraProcessor(tiny_tokenizer(), tiny_catalogue(num_items), **kwargs)


def tiny_text_config(family: str, vocab_size: int):
    common = dict(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4)
    llama_like = dict(common, intermediate_size=64, num_key_value_heads=2, max_position_embeddings=1024)
    if family == "llama":
        return LlamaConfig(**llama_like, tie_word_embeddings=True)
    if family == "qwen2":
        return Qwen2Config(**llama_like, tie_word_embeddings=False)
    if family == "mistral":
        return MistralConfig(**llama_like, tie_word_embeddings=False)
    if family == "gemma":
        return GemmaConfig(**llama_like, head_dim=8)
    if family == "gpt2":
        return GPT2Config(
            vocab_size=vocab_size,
            n_embd=32,
            n_layer=2,
            n_head=4,
            n_positions=1024,
            bos_token_id=0,
            eos_token_id=0,
        )
    raise ValueError(family)


def tiny_llara(
    processor: LlaraProcessor,
    family: str = "llama",
    seed: int = 0,
    recommender_hidden_size: int = 8,
    **kwargs,
) -> LlaraForRecommendation:
    torch.manual_seed(seed)
    config = LlaraConfig(
        text_config=tiny_text_config(family, len(processor.tokenizer)),
        recommender_config=ItemEmbeddingsConfig(
            num_items=processor.catalogue.num_items, hidden_size=recommender_hidden_size
        ),
        item_token_id=processor.item_token_id,
        **kwargs,
    )
    model = LlaraForRecommendation(config)
    model.generation_config.pad_token_id = processor.tokenizer.pad_token_id
    model.generation_config.eos_token_id = processor.tokenizer.eos_token_id
    return model.eval()


def synthetic_rows(count: int, num_items: int = len(TITLES), seed: int = 0) -> Dataset:
    """Rows where the next item follows the last one (i -> i + 1), with 4 shuffled candidates."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        start = rng.randrange(num_items)
        history = [(start + offset) % num_items for offset in range(3)]
        target = (history[-1] + 1) % num_items
        candidates = [target] + rng.sample([item for item in range(num_items) if item != target], 3)
        rng.shuffle(candidates)
        rows.append(
            {
                "history_item_ids": history,
                "candidate_item_ids": candidates,
                "target_item_id": target,
                "template_id": index % 3,
            }
        )
    return Dataset.from_list(rows)
