"""Configuration of LLaRA: a causal LM, a sequential recommender, and the projector between them."""

from __future__ import annotations

from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from .configuration_recommenders import SequentialRecommenderConfig, recommender_config_from_dict

PROMPT_FORMS = ("hybrid", "text")
PROJECTOR_INITS = ("token_norm", "normal")
# Settings by which a causal LM's logits are more than `lm_head(hidden)`; LLaRA's head (and TRL's fused
# LM-head loss) computes exactly that, so such backbones would silently train and score other logits.
UNSUPPORTED_LOGIT_SETTINGS = ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_multiplier")


class LlaraConfig(PreTrainedConfig):
    """Configuration of [`LlaraForRecommendation`], laid out as transformers' `LlavaConfig`.

    Args:
        text_config: the causal LM's config (any `AutoConfig` model type, as a config or a dict).
        recommender_config: the sequential recommender's config (SASRec, GRU4Rec, Caser or a plain item
            table), as a config or a dict with its `model_type`.
        item_token_id: id of the placeholder token whose embedding is replaced by the projected item.
        projector_hidden_act: activation between the projector's two linear layers (the paper: GELU).
        projector_bias: whether the projector's linear layers have biases.
        projector_init: how `from_backbone` starts the projector: `"normal"` draws its weights from
            N(0, `initializer_range`), so projected items start far smaller than token embeddings;
            `"token_norm"` then scales its output so they have the token embeddings' mean norm.
        freeze_recommender: keep the recommender's weights fixed (the paper does).
        prompt_form: the prompt form inference uses by default: `"hybrid"` (titles and item embeddings)
            or `"text"` (titles only: zero-shot backbones and models trained with the `text` curriculum).
        tie_word_embeddings: taken from `text_config` unless given.
    """

    model_type = "llara"
    sub_configs_defaults = {
        "text_config": SubConfigSpec(config_class=AutoConfig, model_type="llama"),
        "recommender_config": SequentialRecommenderConfig,
    }

    text_config: dict | PreTrainedConfig | None = None
    recommender_config: dict | PreTrainedConfig | None = None
    item_token_id: int | None = None
    projector_hidden_act: str = "gelu"
    projector_bias: bool = True
    projector_init: str = "normal"
    freeze_recommender: bool = True
    prompt_form: str = "hybrid"
    tie_word_embeddings: bool | None = None

    def __post_init__(self, **kwargs):
        # Recommender configs are resolved here, by their own registry, so that a folder loaded with
        # `trust_remote_code` needs no `AutoConfig` registration.
        self.recommender_config = recommender_config_from_dict(self.recommender_config or {})
        super().__post_init__(**kwargs)
        if self.prompt_form not in PROMPT_FORMS:
            raise ValueError(f"prompt_form must be one of {PROMPT_FORMS}, got {self.prompt_form!r}.")
        if self.projector_init not in PROJECTOR_INITS:
            raise ValueError(f"projector_init must be one of {PROJECTOR_INITS}, got {self.projector_init!r}.")
        if self.tie_word_embeddings is None:
            self.tie_word_embeddings = bool(getattr(self.text_config, "tie_word_embeddings", False))
        if self.item_token_id is not None and not 0 <= self.item_token_id < self.text_config.vocab_size:
            raise ValueError(
                f"item_token_id {self.item_token_id} is outside the text model's vocabulary of "
                f"{self.text_config.vocab_size}: add the placeholder token and resize the embeddings first."
            )
        for name in UNSUPPORTED_LOGIT_SETTINGS:
            if getattr(self.text_config, name, None) not in (None, 1, 1.0):
                raise ValueError(
                    f"The backbone ({self.text_config.model_type}) sets {name}="
                    f"{getattr(self.text_config, name)!r}: its logits are not a plain `lm_head(hidden)`, which "
                    "LLaRA computes. Use a backbone without it, or set it to None if the model tolerates that."
                )

    @property
    def num_items(self) -> int:
        """Size of the item catalogue, as the recommender knows it."""
        return self.recommender_config.num_items


__all__ = ["LlaraConfig"]
