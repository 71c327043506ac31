"""`evaluate` with each protocol, `recommend`, and `llara evaluate` / `llara recommend`, on tiny models."""

import json

import pytest
import torch
from accelerate import Accelerator
from tiny_models import tiny_llara, tiny_processor, tiny_tokenizer

from llara_hf import ItemCatalogue, LlaraProcessor
from llara_hf.cli import main
from llara_hf.evaluation import PROTOCOLS, evaluate, first_line, generate_answers, protocol_metrics
from llara_hf.evaluation.generation import FirstLineComplete, encode_prompts, greedy_config

NUM_ITEMS = 30


@pytest.fixture(scope="module")
def processor():
    return tiny_processor(NUM_ITEMS)


@pytest.fixture(scope="module")
def model(processor):
    return tiny_llara(processor, seed=0)


def make_rows(num_rows: int = 5, num_candidates: int = 6, num_items: int = NUM_ITEMS, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for index in range(num_rows):
        items = torch.randperm(num_items, generator=generator).tolist()
        candidates = items[4 : 4 + num_candidates]
        rows.append(
            {
                "history_item_ids": items[:4],
                "candidate_item_ids": candidates,
                "target_item_id": candidates[index % num_candidates],
                "template_id": index % 3,
            }
        )
    return rows


EXPECTED_METRICS = {
    "paper": {"valid_ratio", "hr@1", "strict_hr@1"},
    "ranking": {"valid_ratio", "hr@1", "hr@3", "hr@5", "ndcg@3", "ndcg@5", "ndcg@10", "mrr"},
    "constrained": {"valid_ratio", "hr@1", "strict_hr@1"},
    "full": {
        "hr@1",
        "hr@5",
        "hr@10",
        "ndcg@10",
        "mrr",
        "recommender_hr@1",
        "recommender_hr@5",
        "recommender_hr@10",
        "recommender_ndcg@10",
        "recommender_mrr",
        "retrieval_recall@10",
    },
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_each_protocol_writes_predictions_and_metrics(model, processor, protocol, tmp_path):
    rows = make_rows()
    metrics = evaluate(
        model,
        processor,
        rows,
        protocol,
        batch_size=2,
        output_dir=tmp_path,
        max_new_tokens=8,
        num_retrieved=10,
        show_progress=False,
    )
    num_rows = metrics.pop("num_rows")
    assert num_rows == len(rows)
    assert set(metrics) == EXPECTED_METRICS[protocol]
    assert all(0.0 <= value <= 1.0 for value in metrics.values())
    predictions = [json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert [p["row"] for p in predictions] == list(range(len(rows)))
    summary = json.loads((tmp_path / "metrics.json").read_text())
    assert summary["protocol"] == protocol and summary["metrics"] == {**metrics, "num_rows": num_rows}
    assert summary["prompt_form"] == "hybrid"
    assert not list(tmp_path.glob("*.tmp"))
    assert protocol_metrics(protocol, predictions) == metrics


def test_evaluation_through_an_accelerator_gives_the_same_predictions(model, processor, tmp_path):
    rows = make_rows()
    alone = evaluate(model, processor, rows, "ranking", output_dir=tmp_path / "alone", show_progress=False)
    shared = evaluate(
        model,
        processor,
        rows,
        "ranking",
        output_dir=tmp_path / "shared",
        show_progress=False,
        accelerator=Accelerator(cpu=True),
    )
    assert shared == alone and alone["num_rows"] == len(rows)
    assert (tmp_path / "shared" / "predictions.jsonl").read_text() == (
        tmp_path / "alone" / "predictions.jsonl"
    ).read_text()


def test_ranking_and_constrained_are_always_valid_and_consistent(model, processor):
    rows = make_rows(num_rows=6)
    ranking = evaluate(model, processor, rows, "ranking", show_progress=False)
    constrained = evaluate(model, processor, rows, "constrained", show_progress=False)
    assert ranking["valid_ratio"] == constrained["valid_ratio"] == 1.0
    assert constrained["hr@1"] == constrained["strict_hr@1"]
    assert ranking["hr@1"] <= ranking["hr@3"] <= ranking["hr@5"]


def test_ranking_predictions_rank_by_score_and_name_the_target_rank(model, processor, tmp_path):
    rows = make_rows(num_rows=3)
    evaluate(model, processor, rows, "ranking", output_dir=tmp_path, show_progress=False)
    for row, prediction in zip(rows, map(json.loads, (tmp_path / "predictions.jsonl").open()), strict=True):
        by_score = sorted(zip(prediction["scores"], row["candidate_item_ids"], strict=True), reverse=True)
        assert prediction["ranked_item_ids"] == [item for _, item in by_score]
        assert prediction["ranked_item_ids"][prediction["target_rank"]] == row["target_item_id"]


def test_results_do_not_depend_on_the_batch_size(model, processor):
    rows = make_rows(num_rows=5)
    for protocol in PROTOCOLS:
        options = {"max_new_tokens": 8, "num_retrieved": 10, "show_progress": False}
        one = evaluate(model, processor, rows, protocol, batch_size=1, **options)
        many = evaluate(model, processor, rows, protocol, batch_size=5, **options)
        assert one == pytest.approx(many, abs=1e-6), protocol


def test_limit_and_prompt_form(model, processor, tmp_path):
    evaluate(
        model,
        processor,
        make_rows(),
        "ranking",
        output_dir=tmp_path,
        prompt_form="text",
        limit=2,
        show_progress=False,
    )
    summary = json.loads((tmp_path / "metrics.json").read_text())
    assert summary["metrics"]["num_rows"] == 2 and summary["prompt_form"] == "text"


def test_full_protocol_never_retrieves_history_and_misses_unretrieved_targets(model, processor, tmp_path):
    rows = make_rows(num_rows=6)
    metrics = evaluate(
        model, processor, rows, "full", output_dir=tmp_path, num_retrieved=10, show_progress=False
    )
    predictions = [json.loads(line) for line in (tmp_path / "predictions.jsonl").open()]
    for row, prediction in zip(rows, predictions, strict=True):
        assert len(prediction["retrieved_item_ids"]) == 10
        assert not set(prediction["retrieved_item_ids"]) & set(row["history_item_ids"])
        if row["target_item_id"] not in prediction["retrieved_item_ids"]:
            assert prediction["target_rank"] is None
        else:
            assert prediction["ranked_item_ids"][prediction["target_rank"]] == row["target_item_id"]
    recall = sum(p["target_rank"] is not None for p in predictions) / len(predictions)
    assert metrics["retrieval_recall@10"] == recall
    assert metrics["hr@10"] == pytest.approx(recall)  # every retrieved target ranks within the 10 retrieved
    with pytest.raises(ValueError, match="at least that many"):
        evaluate(model, processor, rows, "full", num_retrieved=5, show_progress=False)


def test_paper_protocol_stops_at_the_first_line_without_changing_answers():
    processor = tiny_processor(16)
    newline = processor.tokenizer.convert_tokens_to_ids("Ċ")
    rows = make_rows(num_rows=6, num_candidates=4, num_items=16)
    stopped_early = 0
    for seed in (1, 2):
        model = tiny_llara(processor, "qwen2", seed=seed)
        with torch.no_grad():  # make newlines frequent, so that first lines end mid-generation
            model.lm_head.weight[newline] = torch.randn(32, generator=torch.Generator().manual_seed(seed)) * 3
        answers = generate_answers(model, processor, rows, hybrid=True, max_new_tokens=24)
        inputs = encode_prompts(processor, rows, hybrid=True)
        full = model.generate(**inputs, generation_config=greedy_config(model, processor.tokenizer, 24, 1))
        full_texts = processor.tokenizer.batch_decode(
            full[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True
        )
        assert [first_line(text) for text in answers] == [first_line(text) for text in full_texts]
        stopped_early += sum(
            len(answer) < len(text) for answer, text in zip(answers, full_texts, strict=True)
        )
    assert stopped_early > 0


def test_first_line_criterion_waits_for_text_before_the_newline():
    tokenizer = tiny_tokenizer()
    criterion = FirstLineComplete(tokenizer, prompt_length=1)

    def done(text):
        ids = torch.tensor([[0] + tokenizer(text, add_special_tokens=False)["input_ids"]])
        return bool(criterion(ids, None)[0])

    assert not done("\n\n  ")
    assert not done("\n Heat")
    assert done("\n Heat\n")


def test_a_processor_with_other_templates_is_refused(model, processor):
    rows = make_rows(num_rows=1)
    rows[0]["prompt_text_only"] = "Some other prompt"
    with pytest.raises(ValueError, match="renders the first row's prompt differently"):
        evaluate(model, processor, rows, "ranking", prompt_form="text", show_progress=False)


def test_bad_evaluation_arguments_fail_with_the_fix(model, processor):
    rows = make_rows()
    with pytest.raises(ValueError, match="Unknown protocol"):
        evaluate(model, processor, rows, "bleu")
    with pytest.raises(ValueError, match="lack"):
        evaluate(model, processor, [{"history_item_ids": [1]}], "ranking")
    with pytest.raises(ValueError, match="no rows"):
        evaluate(model, processor, [], "ranking")
    bad = dict(rows[0], target_item_id=29 if 29 not in rows[0]["candidate_item_ids"] else 28)
    with pytest.raises(ValueError, match="not among its candidates"):
        evaluate(model, processor, [bad], "ranking", show_progress=False)


def test_recommend_ranks_given_candidates_by_their_likelihood(model, processor):
    recommendations = model.recommend([0, 1, 2], candidates=[3, 4, 5, 6], top_k=3, processor=processor)
    assert len(recommendations) == 3
    scores = [score for _, _, score in recommendations]
    assert scores == sorted(scores, reverse=True)
    assert all(title == processor.catalogue.titles[item] for item, title, _ in recommendations)
    row = {"history_item_ids": [0, 1, 2], "candidate_item_ids": [3, 4, 5, 6], "template_id": 0}
    from llara_hf.candidate_scoring import score_candidates

    expected = score_candidates(model, processor, [row])[0]
    assert recommendations[0][2] == pytest.approx(expected.max().item())


def test_recommend_without_candidates_retrieves_outside_the_history(model, processor):
    recommendations = model.recommend([0, 1, 2], top_k=5, processor=processor, num_retrieved=12)
    assert len(recommendations) == 5
    assert not {item for item, _, _ in recommendations} & {0, 1, 2}
    assert recommendations == model.recommend([0, 1, 2], top_k=5, processor=processor, num_retrieved=12)
    everything = model.recommend([0, 1, 2], top_k=100, processor=processor, num_retrieved=100)
    assert len(everything) == NUM_ITEMS - 3
    with pytest.raises(ValueError, match="Unknown history item id 99"):
        model.recommend([99], processor=processor)
    with pytest.raises(ValueError, match="top_k"):
        model.recommend([0], top_k=0, processor=processor)


def test_recommend_loads_the_processor_saved_with_the_model(processor, tmp_path):
    model = tiny_llara(processor, seed=0)
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    from llara_hf import LlaraForRecommendation

    reloaded = LlaraForRecommendation.from_pretrained(tmp_path).eval()
    recommended = reloaded.recommend([0, 1], candidates=[2, 3, 4])
    expected = model.recommend([0, 1], candidates=[2, 3, 4], processor=processor)
    assert [(item, title) for item, title, _ in recommended] == [(item, title) for item, title, _ in expected]
    assert [score for *_, score in recommended] == pytest.approx([score for *_, score in expected], abs=1e-5)
    assert reloaded._llara_processor.catalogue.titles == processor.catalogue.titles


@pytest.fixture
def interactions_folder(tmp_path):
    """A tiny `interactions` dataset (12 users, 60 films), and a trained-looking LLaRA model saved for it."""
    import pandas as pd

    generator = torch.Generator().manual_seed(0)
    events = [
        (f"user-{user}", int(item), step)
        for user in range(12)
        for step, item in enumerate(torch.randperm(60, generator=generator)[:10].tolist())
    ]
    folder = tmp_path / "tables"
    folder.mkdir()
    pd.DataFrame(events, columns=["user", "item", "timestamp"]).to_csv(
        folder / "interactions.csv", index=False
    )
    pd.DataFrame({"item": range(60), "title": [f"Film {i}" for i in range(60)]}).to_csv(
        folder / "items.csv", index=False
    )
    from llara_hf.data import load_item_catalogue

    catalogue = load_item_catalogue("interactions", str(folder))
    processor = LlaraProcessor(tiny_tokenizer(), ItemCatalogue(catalogue.titles, catalogue.source_ids))
    model_dir = tmp_path / "model"
    tiny_llara(processor, seed=0).save_pretrained(model_dir)
    processor.save_pretrained(model_dir)
    return folder, model_dir


def test_llara_evaluate_and_recommend_commands(interactions_folder, tmp_path, capsys):
    folder, model_dir = interactions_folder
    common = ["--model", str(model_dir), "--dataset", "interactions", "--data-dir", str(folder)]
    common += ["--cache-dir", str(tmp_path / "cache"), "--device", "cpu"]
    output_dir = tmp_path / "evaluation"
    assert (
        main(["evaluate", *common, "--protocol", "ranking", "--output-dir", str(output_dir), "--limit", "2"])
        == 0
    )
    summary = json.loads((output_dir / "metrics.json").read_text())
    assert summary["metrics"]["num_rows"] == 2 and summary["metrics"]["valid_ratio"] == 1.0
    assert len((output_dir / "predictions.jsonl").read_text().splitlines()) == 2

    output = tmp_path / "recommendations.json"
    assert main(["recommend", *common, "--history", "0,1,2", "--top-k", "3", "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "History: Film 0, Film 1, Film 2" in printed
    recommendations = json.loads(output.read_text())["recommendations"]
    assert len(recommendations) == 3 and not {r["item_id"] for r in recommendations} & {0, 1, 2}
    with pytest.raises(SystemExit):
        main(["recommend", *common, "--history", "0,x"])


def test_any_plain_causal_lm_is_evaluated_zero_shot_with_text_prompts(processor, tmp_path):
    from tiny_models import tiny_text_config
    from transformers import LlamaForCausalLM

    from llara_hf.evaluation import is_llara_model, load_model_and_processor

    tokenizer = tiny_tokenizer()
    torch.manual_seed(0)
    LlamaForCausalLM(tiny_text_config("llama", len(tokenizer))).save_pretrained(tmp_path / "plain")
    tokenizer.save_pretrained(tmp_path / "plain")
    assert not is_llara_model(tmp_path / "plain")
    model, plain_processor = load_model_and_processor(tmp_path / "plain", processor.catalogue)
    assert model.config.prompt_form == "text" and model._llara_processor is plain_processor
    metrics = evaluate(model, plain_processor, make_rows(), "ranking", show_progress=False)
    assert metrics["valid_ratio"] == 1.0
    with pytest.raises(ValueError, match="give the item catalogue"):
        load_model_and_processor(tmp_path / "plain")


def test_a_trained_model_loads_with_its_own_processor(interactions_folder):
    from llara_hf.evaluation import is_llara_model, load_model_and_processor

    folder, model_dir = interactions_folder
    assert is_llara_model(model_dir)
    model, processor = load_model_and_processor(model_dir)
    assert processor.catalogue.titles[0] == "Film 0" and not model.training
    with pytest.raises(ValueError, match="differs from the dataset"):
        load_model_and_processor(model_dir, tiny_processor(NUM_ITEMS).catalogue)
    with pytest.raises(ValueError, match="drop --recommender"):
        load_model_and_processor(model_dir, recommender="sasrec")
