"""A push without a token, with a rejected token, or to an unreachable Hub says which, before any upload."""

import socket

import pytest
from datasets import Dataset, DatasetDict
from huggingface_hub import HfApi, constants
from tiny_models import tiny_catalogue, tiny_llara, tiny_processor

from llara_hf.cli import main
from llara_hf.hub import (
    HubAuthenticationError,
    HubConnectionError,
    push_llara_dataset_to_hub,
    push_llara_to_hub,
)


@pytest.fixture(scope="module")
def tiny():
    processor = tiny_processor()
    return tiny_llara(processor), processor


@pytest.fixture
def no_token(monkeypatch):
    for variable in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def unreachable_endpoint(monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    return endpoint


def tiny_rows():
    return DatasetDict({"train": Dataset.from_dict({"history_item_ids": [[0, 1]], "target_item_id": [2]})})


def test_a_model_push_without_a_token_says_so_and_how_to_log_in(tiny, hub, hub_repo_id, no_token):
    with pytest.raises(
        HubAuthenticationError, match=f"No Hugging Face token to push to {hub.endpoint}"
    ) as error:
        push_llara_to_hub(*tiny, hub_repo_id)
    assert "hf auth login" in str(error.value) and "HF_TOKEN" in str(error.value)
    assert not HfApi(token=hub.token).repo_exists(hub_repo_id)


def test_a_dataset_push_without_a_token_says_so(hub, hub_repo_id, no_token):
    with pytest.raises(HubAuthenticationError, match="No Hugging Face token"):
        push_llara_dataset_to_hub(
            tiny_rows(), hub_repo_id, name="interactions", layout="interactions", catalogue=tiny_catalogue()
        )


def test_a_rejected_token_is_named(tiny, hub, hub_repo_id):
    with pytest.raises(HubAuthenticationError, match=f"The Hub at {hub.endpoint} rejected the token"):
        push_llara_to_hub(*tiny, hub_repo_id, token="hf_not_a_valid_token")
    assert not HfApi(token=hub.token).repo_exists(hub_repo_id)


def test_an_unreachable_endpoint_is_named(tiny, unreachable_endpoint):
    with pytest.raises(
        HubConnectionError, match=f"Cannot reach the Hugging Face Hub at {unreachable_endpoint}"
    ):
        push_llara_to_hub(*tiny, "someone/model")
    with pytest.raises(HubConnectionError, match=f"at {unreachable_endpoint}.*HF_ENDPOINT"):
        push_llara_dataset_to_hub(
            tiny_rows(),
            "someone/rows",
            name="interactions",
            layout="interactions",
            catalogue=tiny_catalogue(),
        )


def test_llara_push_prints_which_failure_it_met(tiny, tmp_path, monkeypatch, capsys, unreachable_endpoint):
    model, processor = tiny
    model.save_pretrained(tmp_path / "model")
    processor.save_pretrained(tmp_path / "model")
    command = ["push", "--model", str(tmp_path / "model"), "--repo-id", "someone/model"]

    assert main(command) == 1
    assert (
        f"llara push: Cannot reach the Hugging Face Hub at {unreachable_endpoint}" in capsys.readouterr().err
    )
    for variable in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    assert main(command) == 1
    assert "llara push: No Hugging Face token to push to" in capsys.readouterr().err


def test_merging_needs_an_adapter(tiny, hub_repo_id):
    with pytest.raises(
        ValueError, match="merged=True merges a LoRA adapter, but the model is not a PeftModel"
    ):
        push_llara_to_hub(*tiny, hub_repo_id, merged=True)


def test_the_processor_must_match_the_model(tiny, hub_repo_id):
    model, _ = tiny
    with pytest.raises(ValueError, match="item catalogue has 10 items but the model's recommender has 12"):
        push_llara_to_hub(model, tiny_processor(num_items=10), hub_repo_id)
