"""SASRec, GRU4Rec and Caser: the shared recommender interface, masks, truncation, save/load and the Hub."""

import ast
from pathlib import Path

import pytest
import torch

import llara_hf
from llara_hf import LlaraConfig
from llara_hf.configuration_recommenders import (
    RECOMMENDER_CONFIG_CLASSES,
    CaserConfig,
    GRU4RecConfig,
    SASRecConfig,
)
from llara_hf.recommender_registry import RECOMMENDER_CLASSES, load_recommender, recommender_from_config
from llara_hf.recommenders import CaserModel, GRU4RecModel, SASRecModel

MODELS = {"sasrec": SASRecModel, "gru4rec": GRU4RecModel, "caser": CaserModel}
NUM_ITEMS = 12
HIDDEN = 8
MAX_HISTORY = 4


def tiny(model_type: str, **overrides):
    torch.manual_seed(0)
    config = {
        "model_type": model_type,
        "num_items": NUM_ITEMS,
        "hidden_size": HIDDEN,
        "max_history_length": MAX_HISTORY,
        **overrides,
    }
    return recommender_from_config(config).eval()


HISTORIES = torch.tensor([[3, 4, 5, 0], [7, 0, 0, 0], [1, 2, 3, 4]])
LENGTHS = torch.tensor([3, 1, 4])


@pytest.mark.parametrize("model_type", MODELS)
def test_registry_builds_each_model_from_its_config(model_type):
    model = tiny(model_type)
    assert type(model) is MODELS[model_type] is RECOMMENDER_CLASSES[model_type]
    assert type(model.config) is RECOMMENDER_CONFIG_CLASSES[model_type]
    assert model.config.hidden_size == HIDDEN and model.config.num_items == NUM_ITEMS


@pytest.mark.parametrize("model_type", MODELS)
def test_forward_scores_every_item_and_adds_the_loss_with_labels(model_type):
    model = tiny(model_type)
    labels = torch.tensor([6, 8, 5])
    output = model(HISTORIES, LENGTHS, labels=labels)
    assert output.logits.shape == (3, NUM_ITEMS)
    assert output.user_embeddings.shape == (3, HIDDEN)
    torch.testing.assert_close(output.logits, output.user_embeddings @ model.item_embedding.weight.T)
    torch.testing.assert_close(output.loss, torch.nn.functional.cross_entropy(output.logits, labels))
    assert model(HISTORIES, LENGTHS).loss is None


@pytest.mark.parametrize("model_type", MODELS)
def test_item_embeddings_keep_the_ids_shape(model_type):
    model = tiny(model_type)
    item_ids = torch.tensor([[0, 5, 11], [2, 2, 3]])
    embeddings = model.item_embeddings(item_ids)
    assert embeddings.shape == (2, 3, HIDDEN)
    torch.testing.assert_close(embeddings, model.item_embedding.weight[item_ids])


@pytest.mark.parametrize("model_type", MODELS)
def test_padding_is_masked_whatever_its_value(model_type):
    model = tiny(model_type)
    reference = model(HISTORIES, LENGTHS).logits
    for padding in (-1, NUM_ITEMS, 9):
        padded = HISTORIES.clone()
        padded[0, 3], padded[1, 1:] = padding, padding
        torch.testing.assert_close(model(padded, LENGTHS).logits, reference)
    alone = model(torch.tensor([[7]]), torch.tensor([1])).logits
    torch.testing.assert_close(alone[0], reference[1])


@pytest.mark.parametrize("model_type", MODELS)
def test_long_history_keeps_its_most_recent_items(model_type):
    model = tiny(model_type)
    history = torch.tensor([[9, 8, 1, 2, 3, 4, 0]])
    truncated = model(history, torch.tensor([5])).logits
    torch.testing.assert_close(truncated, model(torch.tensor([[8, 1, 2, 3]])).logits)
    torch.testing.assert_close(
        model(history[:, :6]).logits, model(torch.tensor([[1, 2, 3, 4]])).logits, msg="without lengths"
    )


@pytest.mark.parametrize("model_type", MODELS)
def test_empty_history_is_an_error_that_says_so(model_type):
    model = tiny(model_type)
    with pytest.raises(ValueError, match="Empty history in row 1"):
        model(HISTORIES, torch.tensor([3, 0, 4]))
    with pytest.raises(ValueError, match="Empty history"):
        model(torch.zeros(2, 0, dtype=torch.long))


@pytest.mark.parametrize("model_type", MODELS)
def test_unknown_item_id_is_an_error(model_type):
    with pytest.raises(ValueError, match=f"Unknown item id {NUM_ITEMS}"):
        tiny(model_type)(torch.tensor([[1, NUM_ITEMS]]))


@pytest.mark.parametrize("model_type", MODELS)
def test_save_and_load_give_identical_scores(model_type, tmp_path):
    model = tiny(model_type)
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    loaded = load_recommender(tmp_path)
    assert type(loaded) is type(model)
    assert {**loaded.config.to_dict(), "_name_or_path": ""} == model.config.to_dict()
    assert torch.equal(loaded.eval()(HISTORIES, LENGTHS).logits, model(HISTORIES, LENGTHS).logits)


def test_push_to_hub_and_load_by_repo_id(hub_repo_id):
    model = tiny("sasrec", num_attention_heads=2)
    model.push_to_hub(hub_repo_id)
    loaded = load_recommender(hub_repo_id).eval()
    assert isinstance(loaded, SASRecModel) and loaded.config.num_attention_heads == 2
    assert torch.equal(loaded(HISTORIES, LENGTHS).logits, model(HISTORIES, LENGTHS).logits)


def test_dropout_is_active_only_in_training():
    model = tiny("sasrec", dropout=0.5)
    assert torch.equal(model(HISTORIES, LENGTHS).logits, model(HISTORIES, LENGTHS).logits)
    model.train()
    assert not torch.equal(model(HISTORIES, LENGTHS).logits, model(HISTORIES, LENGTHS).logits)


@pytest.mark.parametrize(
    ("config_class", "fields", "message"),
    [
        (SASRecConfig, {"num_attention_heads": 3}, "must be positive and divide hidden_size"),
        (SASRecConfig, {"num_hidden_layers": 0}, "num_hidden_layers must be at least 1"),
        (GRU4RecConfig, {"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        (CaserConfig, {"horizontal_filter_heights": [2, 11]}, "each between 1 and max_history_length"),
        (CaserConfig, {"num_vertical_filters": 0}, "must be at least 1"),
    ],
)
def test_configs_reject_impossible_settings(config_class, fields, message):
    with pytest.raises(ValueError, match=message):
        config_class(num_items=NUM_ITEMS, **fields)


@pytest.mark.parametrize("config_class", [SASRecConfig, GRU4RecConfig, CaserConfig])
def test_llara_config_takes_each_recommender_config(config_class, tmp_path):
    config = LlaraConfig(recommender_config=config_class(num_items=NUM_ITEMS, hidden_size=HIDDEN).to_dict())
    config.save_pretrained(tmp_path)
    reloaded = LlaraConfig.from_pretrained(tmp_path).recommender_config
    assert type(reloaded) is config_class and reloaded.num_items == NUM_ITEMS


def test_modelling_files_import_only_torch_transformers_and_siblings():
    """trust_remote_code copies a model's file with its same-folder relative imports, and nothing else."""
    package = Path(llara_hf.__file__).parent
    for name in ("modeling_sasrec", "modeling_gru4rec", "modeling_caser", "modeling_recommender"):
        for node in ast.walk(ast.parse((package / f"{name}.py").read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1 and (package / f"{node.module}.py").is_file(), (name, node.module)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                modules = (
                    [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module]
                )
                roots = {module.split(".")[0] for module in modules}
                assert roots <= {"torch", "transformers", "__future__", "dataclasses"}, (name, roots)
