"""LlaraProcessor: rendering, label masking, item order, errors and saving."""

import pytest
import torch
from tiny_models import tiny_processor

from llara_hf import LlaraProcessor


@pytest.fixture(scope="module")
def processor():
    return tiny_processor()


@pytest.mark.parametrize(
    "template",
    ["Seen {history}. Pick from {candidates}. Answer: ", "Seen {history}. Pick from {candidates}. Answer:"],
)
def test_first_unmasked_label_is_the_first_token_of_the_target_title(template):
    processor = tiny_processor(templates=[template])
    encoding = processor.encode([0, 1, 2], [3, 1, 4], target_item_id=1)
    first = next(i for i, label in enumerate(encoding["labels"]) if label != -100)
    # The title's tokens as they appear in the candidate list ("..., The Usual Suspects, ...").
    listed = processor.tokenizer("a The Usual Suspects", add_special_tokens=False)["input_ids"][1:]
    assert encoding["labels"][first : first + len(listed)] == listed
    assert encoding["labels"][-1] == processor.tokenizer.eos_token_id
    assert encoding["input_ids"][first:] == encoding["labels"][first:]
    prompt_ids = encoding["input_ids"][:first]
    assert processor.tokenizer.decode(prompt_ids).endswith("Answer:")
    # A trailing space in the template changes nothing: it belongs to the answer.
    other = tiny_processor(templates=[template.rstrip() if template.endswith(" ") else template + " "])
    assert other.encode([0, 1, 2], [3, 1, 4], target_item_id=1) == encoding


def test_answers_repeat_the_token_ids_of_the_listed_title(processor):
    encoding = processor.encode([0, 1], [2, 3, 4], target_item_id=3, hybrid=False)
    answer = [label for label in encoding["labels"] if label != -100][:-2]  # without terminator and eos
    prompt = encoding["input_ids"][: len(encoding["input_ids"]) - len(answer) - 2]
    assert any(prompt[i : i + len(answer)] == answer for i in range(len(prompt)))


def test_hybrid_prompt_has_one_placeholder_per_item_in_template_order(processor):
    encoding = processor.encode([0, 1], [2, 3, 4], hybrid=True, template_id=1)
    assert encoding["item_ids"] == [0, 1, 2, 3, 4]
    assert encoding["input_ids"].count(processor.item_token_id) == 5
    candidates_first = tiny_processor(templates=["Pick from {candidates} after {history}: "])
    assert candidates_first.encode([0, 1], [2, 3])["item_ids"] == [2, 3, 0, 1]
    text, item_ids = processor.render([0, 1], [2, 3], hybrid=False)
    assert item_ids == [] and "[ItemEmb]" not in text and "Toy Story, The Usual Suspects" in text


def test_each_item_adds_one_token_to_the_hybrid_prompt_also_after_reloading(processor, tmp_path):
    history, candidates = [0, 1, 2], [3, 4, 5, 6]
    processor.save_pretrained(tmp_path)
    for loaded in (processor, LlaraProcessor.from_pretrained(tmp_path)):
        hybrid = loaded.encode(history, candidates, hybrid=True)["input_ids"]
        text = loaded.encode(history, candidates, hybrid=False)["input_ids"]
        # The placeholder absorbs the space before it: no separate space token per item.
        assert len(hybrid) == len(text) + len(history) + len(candidates)


def test_rendered_prompt_uses_titles_and_candidate_count(processor):
    text, _ = processor.render([0], [2, 3], hybrid=True, template_id=0)
    assert text == (
        "This user has watched Toy Story [ItemEmb] in the previous. Please predict the next movie this user "
        "will watch. Choose the answer from the following 2 movie titles: Heat [ItemEmb], Jumanji [ItemEmb]. "
        "Answer: "
    )


def test_long_history_keeps_the_most_recent_items():
    processor = tiny_processor(max_history_items=3)
    assert processor.encode([0, 1, 2, 3, 4], [5])["item_ids"] == [2, 3, 4, 5]


def test_bad_input_errors_name_the_problem(processor):
    with pytest.raises(ValueError, match="Unknown history item id 99: the item catalogue has ids 0..11"):
        processor.encode([0, 99], [1, 2])
    with pytest.raises(ValueError, match="Unknown candidate item id -1"):
        processor.encode([0], [1, -1])
    with pytest.raises(ValueError, match="Empty history"):
        processor.encode([], [1, 2])
    with pytest.raises(ValueError, match="No candidates"):
        processor.encode([0], [])
    with pytest.raises(ValueError, match="template_id 3 is outside the 3 templates"):
        processor.encode([0], [1], template_id=3)
    with pytest.raises(ValueError, match="Unknown prompt domain 'books'"):
        tiny_processor(templates="books")
    with pytest.raises(ValueError, match="must contain \\{candidates\\} exactly once"):
        tiny_processor(templates=["{history} only"])


def test_batches_pad_left_for_generation_and_right_for_training(processor):
    prompts = processor([[0], [0, 1, 2, 3]], [[4, 5], [6]])
    assert "labels" not in prompts
    assert prompts["attention_mask"][0, 0] == 0 and prompts["attention_mask"][0, -1] == 1
    assert prompts["item_ids"].tolist() == [[0, 4, 5, -100, -100], [0, 1, 2, 3, 6]]
    training = processor([[0], [0, 1, 2, 3]], [[4, 5], [6]], target_item_ids=[4, 6])
    assert training["attention_mask"][0, 0] == 1 and training["attention_mask"][0, -1] == 0
    assert (training["labels"][training["attention_mask"] == 0] == -100).all()


def test_save_and_load_round_trip(processor, tmp_path):
    custom = tiny_processor(
        templates=["After {history}, choose among {candidates}: "], completion_terminator="."
    )
    custom.save_pretrained(tmp_path)
    reloaded = LlaraProcessor.from_pretrained(tmp_path)
    assert reloaded.templates == custom.templates
    assert reloaded.catalogue == custom.catalogue
    expected = custom([[0, 1]], [[2, 3]], target_item_ids=[2])
    actual = reloaded([[0, 1]], [[2, 3]], target_item_ids=[2])
    assert all(torch.equal(expected[key], actual[key]) for key in expected)
    with pytest.raises(FileNotFoundError, match="llara_processor.json"):
        LlaraProcessor.from_pretrained(tmp_path / "missing")
