"""LLaRA as a transformers model, laid out as LLaVA: a causal LM, a recommender tower and a projector.

Each item in a hybrid prompt is its title followed by a placeholder token; the placeholder's input
embedding is replaced by `projector(recommender.item_embeddings(item_id))`, all items of a batch at once
with one `masked_scatter`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from torch import nn
from transformers import AutoModel, GenerationMixin, PreTrainedModel
from transformers.activations import ACT2FN
from transformers.cache_utils import Cache
from transformers.modeling_outputs import BaseModelOutputWithPast, CausalLMOutputWithPast
from transformers.modeling_utils import slice_logits_to_keep

from .configuration_llara import LlaraConfig
from .item_catalogue import ITEM_PAD_ID
from .modeling_recommender import SequentialRecommender
from .recommender_registry import load_recommender, recommender_from_config


def flatten_item_ids(item_ids: torch.Tensor | None, device: torch.device) -> torch.LongTensor:
    """The item ids of a batch in placeholder order: a 1-D tensor as is, a 2-D one without its padding."""
    if item_ids is None:
        return torch.empty(0, dtype=torch.long, device=device)
    item_ids = torch.as_tensor(item_ids, dtype=torch.long, device=device)
    if item_ids.dim() == 2:
        return item_ids[item_ids != ITEM_PAD_ID]
    if item_ids.dim() != 1:
        raise ValueError(f"item_ids must be 1-D or (batch, max_items), got shape {tuple(item_ids.shape)}.")
    return item_ids


class LlaraProjector(nn.Module):
    """Maps recommender item embeddings into the LLM's input space: Linear, activation, Linear."""

    def __init__(self, config: LlaraConfig):
        super().__init__()
        text_hidden_size = config.text_config.hidden_size
        self.linear_1 = nn.Linear(
            config.recommender_config.hidden_size, text_hidden_size, bias=config.projector_bias
        )
        self.act = ACT2FN[config.projector_hidden_act]
        self.linear_2 = nn.Linear(text_hidden_size, text_hidden_size, bias=config.projector_bias)

    def forward(self, item_embeddings: torch.Tensor) -> torch.Tensor:
        return self.linear_2(self.act(self.linear_1(item_embeddings)))


class LlaraPreTrainedModel(PreTrainedModel):
    config: LlaraConfig
    config_class = LlaraConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _skip_keys_device_placement = "cache"
    _supports_flash_attn = True
    _supports_sdpa = True
    _supports_flex_attn = True
    _supports_attention_backend = True


class LlaraModel(LlaraPreTrainedModel):
    """The language model without its head, with the recommender tower and the projector."""

    def __init__(self, config: LlaraConfig):
        super().__init__(config)
        self.language_model = AutoModel.from_config(config.text_config)
        self.projector = LlaraProjector(config)
        self.recommender = recommender_from_config(config.recommender_config)
        self.recommender.requires_grad_(not config.freeze_recommender)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.language_model.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.language_model.set_input_embeddings(value)

    def get_item_features(self, item_ids: torch.LongTensor) -> torch.Tensor:
        """Projected item embeddings, `(*item_ids.shape, text_hidden_size)`."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.config.freeze_recommender):
            item_embeddings = self.recommender.item_embeddings(item_ids)
        return self.projector(item_embeddings.to(self.projector.linear_1.weight.dtype))

    @torch.no_grad()
    def scale_projector_to_token_embeddings(self, max_items: int = 4096) -> float:
        """Scale the projector's output layer so projected items (the first `max_items` of the catalogue)
        have the mean norm of the token embeddings; returns the factor applied."""
        item_ids = torch.arange(
            min(self.config.num_items, max_items), device=self.projector.linear_1.weight.device
        )
        item_norm = self.get_item_features(item_ids).float().norm(dim=-1).mean()
        token_norm = self.get_input_embeddings().weight.float().norm(dim=-1).mean()
        factor = float(token_norm / item_norm)
        self.projector.linear_2.weight.mul_(factor)
        if self.projector.linear_2.bias is not None:
            self.projector.linear_2.bias.mul_(factor)
        return factor

    def get_placeholder_mask(
        self, input_ids: torch.LongTensor, item_ids: torch.LongTensor
    ) -> torch.BoolTensor:
        """Where the placeholder tokens are; checks their count and the item ids' range in one sync."""
        if self.config.item_token_id is None:
            raise ValueError("config.item_token_id is not set: build the model with `from_backbone`.")
        placeholder_mask = input_ids == self.config.item_token_id
        num_items = self.config.recommender_config.num_items
        out_of_range = (item_ids < 0) | (item_ids >= num_items)
        num_placeholders, num_out_of_range = torch.stack(
            [placeholder_mask.sum(), out_of_range.sum()]
        ).tolist()
        if num_placeholders != item_ids.numel():
            raise ValueError(
                f"The prompt has {num_placeholders} item placeholder tokens but {item_ids.numel()} item ids were "
                "given: pass exactly one item id per placeholder, in order (the processor does this)."
            )
        if num_out_of_range:
            bad = int(item_ids[out_of_range][0])
            raise ValueError(
                f"Item id {bad} is outside the recommender's catalogue of {num_items} items "
                f"(ids 0..{num_items - 1})."
            )
        return placeholder_mask

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache: Cache | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        item_ids: torch.LongTensor | None = None,
        hidden_states_to_keep: torch.BoolTensor | None = None,
        **kwargs,
    ) -> BaseModelOutputWithPast:
        r"""
        item_ids (`torch.LongTensor`, *optional*):
            One item id per placeholder token, in order: flat, or `(batch, max_items)` padded with -100.
            `None` leaves placeholder tokens as they are (as in decoding steps after the prompt); an empty
            tensor still runs the projector, so distributed training never sees unused parameters.
        hidden_states_to_keep (`torch.BoolTensor` of shape `(batch, seq_len)`, *optional*):
            Return `last_hidden_state` at these positions only, as `(1, num_kept, hidden_size)`, so a loss
            that scores a few positions (the answer's) projects only those through the LM head.
        """
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids or inputs_embeds.")
        if inputs_embeds is None:
            inputs_embeds = self.get_input_embeddings()(input_ids)
            if item_ids is not None:
                flat_item_ids = flatten_item_ids(item_ids, inputs_embeds.device)
                placeholder_mask = self.get_placeholder_mask(input_ids, flat_item_ids)
                item_features = self.get_item_features(flat_item_ids).to(inputs_embeds.dtype)
                inputs_embeds = inputs_embeds.masked_scatter(placeholder_mask.unsqueeze(-1), item_features)
        elif item_ids is not None:
            raise ValueError("item_ids need input_ids to find the placeholders; got inputs_embeds instead.")
        outputs = self.language_model(
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=cache,
            inputs_embeds=inputs_embeds,
            **kwargs,
        )
        if hidden_states_to_keep is not None:
            outputs.last_hidden_state = outputs.last_hidden_state[hidden_states_to_keep].unsqueeze(0)
        return outputs


def _input_embedding_weight_name(language_model: nn.Module) -> str:
    embeddings = language_model.get_input_embeddings()
    for name, module in language_model.named_modules():
        if module is embeddings:
            return f"{name}.weight"
    raise ValueError(f"{type(language_model).__name__} does not expose its input embeddings.")


class LlaraForRecommendation(LlaraPreTrainedModel, GenerationMixin):
    """LLaRA: a causal LM that reads hybrid item prompts (titles plus projected recommender embeddings)."""

    def __init__(self, config: LlaraConfig):
        super().__init__(config)
        self.model = LlaraModel(config)
        self.lm_head = nn.Linear(config.text_config.hidden_size, config.text_config.vocab_size, bias=False)
        self._tied_weights_keys = {
            "lm_head.weight": f"model.language_model.{_input_embedding_weight_name(self.model.language_model)}"
        }
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.model.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.model.set_input_embeddings(value)

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head

    def set_output_embeddings(self, new_embeddings: nn.Module) -> None:
        self.lm_head = new_embeddings

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache: Cache | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        item_ids: torch.LongTensor | None = None,
        labels: torch.LongTensor | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        **kwargs,
    ) -> CausalLMOutputWithPast:
        outputs = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=cache,
            inputs_embeds=inputs_embeds,
            item_ids=item_ids,
            **kwargs,
        )
        logits = self.lm_head(slice_logits_to_keep(outputs.last_hidden_state, logits_to_keep))
        loss = None
        if labels is not None:
            loss = self.loss_function(
                logits=logits, labels=labels, vocab_size=self.config.text_config.vocab_size, **kwargs
            )
        return CausalLMOutputWithPast(
            loss=loss,
            logits=logits,
            cache=outputs.cache,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )

    def prepare_inputs_for_generation(self, *args, item_ids=None, is_first_iteration=False, **kwargs):
        model_inputs = super().prepare_inputs_for_generation(
            *args, is_first_iteration=is_first_iteration, **kwargs
        )
        # Items are injected into the prompt only; later steps read them from the cache.
        if is_first_iteration or not kwargs.get("use_cache", True):
            model_inputs["item_ids"] = item_ids
        return model_inputs

    @classmethod
    def from_backbone(
        cls,
        llm_name_or_path: str | os.PathLike | None = "default",
        recommender: SequentialRecommender | str | os.PathLike | None = None,
        num_items: int | None = None,
        item_token_id: int | None = None,
        tokenizer=None,
        dtype: torch.dtype | str | None = None,
        recommender_hidden_size: int = 64,
        backbone_kwargs: dict | None = None,
        **config_kwargs,
    ) -> LlaraForRecommendation:
        """Wrap a pretrained causal LM (`"default"`, a Hub id or a local path) into LLaRA.

        The backbone's own modules become `model.language_model` and `lm_head` (no copy, no key
        remapping), the placeholder token is added to the vocabulary when missing, and the recommender is
        a trained one (a model, a folder or a Hub id) or, with `num_items` only, a fresh item table.
        Pass the processor's `tokenizer` (or `item_token_id`) so both agree on the placeholder id;
        `backbone_kwargs` go to `load_backbone` (e.g. `random_weights=True, config_overrides={...}`).
        The projector starts as `config.projector_init` says; it is untrained, so inference defaults to
        text-only prompts (`prompt_form="text"`) until training on hybrid prompts sets it to `"hybrid"`.
        """
        from .backbones import load_backbone, load_backbone_tokenizer
        from .processing_llara import add_item_token
        from .prompt_templates import DEFAULT_ITEM_TOKEN

        recommender = _resolve_recommender(recommender, num_items, recommender_hidden_size)
        backbone = load_backbone(llm_name_or_path, dtype=dtype, **(backbone_kwargs or {}))
        if item_token_id is None:
            tokenizer = tokenizer if tokenizer is not None else load_backbone_tokenizer(llm_name_or_path)
            item_token_id = add_item_token(tokenizer, DEFAULT_ITEM_TOKEN)
        backbone.resize_token_embeddings(max(backbone.config.vocab_size, item_token_id + 1))

        output_embeddings = backbone.get_output_embeddings()
        if getattr(output_embeddings, "bias", None) is not None:
            raise ValueError(
                f"{llm_name_or_path}'s lm_head has a bias, which LLaRA's bias-free head (and TRL's fused "
                "LM-head loss) would drop: use a backbone whose lm_head is a plain linear map."
            )
        text_config = backbone.config
        text_config.__dict__.pop("quantization_config", None)
        config = LlaraConfig(
            text_config=text_config,
            recommender_config=recommender.config,
            item_token_id=item_token_id,
            **{"prompt_form": "text", **config_kwargs},
        )
        with torch.device("meta"):
            model = cls(config)
        model.model.language_model = backbone.base_model
        model.lm_head = output_embeddings
        parameter = next(backbone.parameters())
        model.model.projector = LlaraProjector(config).to(device=parameter.device, dtype=parameter.dtype)
        model.model._init_weights(model.model.projector.linear_1)
        model.model._init_weights(model.model.projector.linear_2)
        model.model.recommender = recommender.to(parameter.device)
        model.model.recommender.requires_grad_(not config.freeze_recommender)
        if config.projector_init == "token_norm":
            model.model.scale_projector_to_token_embeddings()
        model.tie_weights()
        model.generation_config = backbone.generation_config
        model.generation_config.suppress_tokens = [item_token_id]
        return model

    def recommend(
        self,
        history: Sequence[int],
        candidates: Sequence[int] | None = None,
        top_k: int = 10,
        processor=None,
        **kwargs,
    ) -> list[tuple[int, str, float]]:
        """Rank `candidates` (or the recommender's top retrievals) for a history of item ids.

        Returns `(item_id, title, score)` best first. The processor defaults to the one saved with the model.
        """
        from .recommendation import recommend

        return recommend(self, history, candidates=candidates, top_k=top_k, processor=processor, **kwargs)


def _resolve_recommender(
    recommender: SequentialRecommender | str | os.PathLike | None, num_items: int | None, hidden_size: int
) -> SequentialRecommender:
    if recommender is None:
        if num_items is None:
            raise ValueError(
                "Pass a trained recommender or num_items (the catalogue size) for a fresh item table."
            )
        from .configuration_recommenders import ItemEmbeddingsConfig

        return recommender_from_config(ItemEmbeddingsConfig(num_items=num_items, hidden_size=hidden_size))
    if not isinstance(recommender, SequentialRecommender):
        recommender = load_recommender(recommender)
    if num_items is not None and num_items != recommender.config.num_items:
        raise ValueError(
            f"The recommender knows {recommender.config.num_items} items but num_items={num_items}: "
            "train the recommender on the same item catalogue as the dataset."
        )
    return recommender


__all__ = ["LlaraForRecommendation", "LlaraModel", "LlaraPreTrainedModel", "LlaraProjector"]
