"""`LlaraProcessor`: from item ids to the tokens, item ids and labels `LlaraForRecommendation` reads."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import torch
from transformers import AddedToken, AutoTokenizer, BatchEncoding, PreTrainedTokenizerBase

from .item_catalogue import ITEM_PAD_ID, ItemCatalogue
from .prompt_templates import (
    DEFAULT_ITEM_TOKEN,
    DEFAULT_SEPARATOR,
    history_comes_first,
    render_prompt,
    resolve_templates,
)

PROCESSOR_FILE = "llara_processor.json"
WORD_ANCHOR = "a"  # answers are tokenised after this word and a space, then it is dropped
IGNORE_INDEX = -100


def add_item_token(tokenizer: PreTrainedTokenizerBase, item_token: str) -> int:
    """Add the placeholder as a special token that absorbs the space before it, so that each item costs one
    token rather than a space token plus the placeholder; returns its id. A tokenizer that already has the
    token keeps it as it was saved."""
    if item_token not in tokenizer.get_vocab():
        token = AddedToken(item_token, lstrip=True, rstrip=False, normalized=False, special=True)
        tokenizer.add_special_tokens({"additional_special_tokens": [token]})
    return tokenizer.convert_tokens_to_ids(item_token)


class LlaraProcessor:
    """A tokenizer, an item catalogue and prompt templates.

    Each item renders as its title followed by one placeholder token (hybrid) or by nothing
    (text-only). Prompt and completion are tokenised separately and concatenated, so the first label is
    always the answer's first token, whatever the prompt ends with; the answer's tokens are those the
    title has in the candidate list.

    Args:
        tokenizer: the backbone's tokenizer; the placeholder token is added to it when missing.
        catalogue: item ids and titles.
        templates: a built-in domain (`"movie"`, `"game"`, `"music_artist"`) or your own templates.
        item_token: the placeholder token.
        separator: between items in a list.
        completion_terminator: appended to the answer's title (the paper: a newline).
        max_history_items: longer histories keep their most recent items (the paper: 10).
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        catalogue: ItemCatalogue,
        templates: str | Sequence[str] = "movie",
        item_token: str = DEFAULT_ITEM_TOKEN,
        separator: str = DEFAULT_SEPARATOR,
        completion_terminator: str = "\n",
        max_history_items: int = 10,
    ):
        if max_history_items < 1:
            raise ValueError(f"max_history_items must be at least 1, got {max_history_items}.")
        self.tokenizer = tokenizer
        self.catalogue = catalogue
        self.templates = resolve_templates(templates)
        self.item_token = item_token
        self.separator = separator
        self.completion_terminator = completion_terminator
        self.max_history_items = max_history_items
        self._completion_ids: dict[str, list[int]] = {}
        add_item_token(tokenizer, item_token)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token

    @property
    def item_token_id(self) -> int:
        return self.tokenizer.convert_tokens_to_ids(self.item_token)

    @classmethod
    def from_backbone(
        cls, llm_name_or_path: str | os.PathLike | None, catalogue: ItemCatalogue, **kwargs
    ) -> LlaraProcessor:
        """A processor around the tokenizer of a backbone (`"default"`, a Hub id or a path)."""
        from .backbones import load_backbone_tokenizer

        return cls(load_backbone_tokenizer(llm_name_or_path), catalogue, **kwargs)

    def render(
        self,
        history_item_ids: Sequence[int],
        candidate_item_ids: Sequence[int],
        hybrid: bool = True,
        template_id: int = 0,
    ) -> tuple[str, list[int]]:
        """The prompt text and, for the hybrid form, its item ids in placeholder order."""
        if len(history_item_ids) == 0:
            raise ValueError("Empty history: LLaRA needs at least one past item to recommend from.")
        if len(candidate_item_ids) == 0:
            raise ValueError("No candidates: pass at least one candidate item id.")
        if not 0 <= template_id < len(self.templates):
            raise ValueError(f"template_id {template_id} is outside the {len(self.templates)} templates.")
        history = self.catalogue.check_ids(history_item_ids, "history item")[-self.max_history_items :]
        candidates = self.catalogue.check_ids(candidate_item_ids, "candidate item")
        template = self.templates[template_id]
        prompt = render_prompt(
            template,
            [self.catalogue.titles[item_id] for item_id in history],
            [self.catalogue.titles[item_id] for item_id in candidates],
            item_token=self.item_token if hybrid else None,
            separator=self.separator,
        )
        if not hybrid:
            return prompt, []
        return prompt, history + candidates if history_comes_first(template) else candidates + history

    def encode_prompt(self, prompt: str) -> list[int]:
        """The prompt's tokens. Trailing whitespace ("Answer: ") is left to the answer, see `encode_completion`."""
        return self.tokenizer(prompt.rstrip(), add_special_tokens=True)["input_ids"]

    def encode_completion(self, title: str) -> list[int]:
        """The answer's tokens as the model learns, generates and scores them: title, terminator, end of sequence.

        The title is tokenised as a word inside a sentence (after a space), so its tokens are the very ids it
        has in the prompt's candidate list; answering is then copying those ids, for byte-level BPE and
        SentencePiece tokenizers alike.
        """
        if title not in self._completion_ids:
            anchor = self.tokenizer(WORD_ANCHOR, add_special_tokens=False)["input_ids"]
            text = f"{WORD_ANCHOR} {title}{self.completion_terminator}"
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            if ids[: len(anchor)] != anchor:
                raise ValueError(f"The tokenizer merges {title!r} into the word before it; rename the item.")
            ids = ids[len(anchor) :]
            if self.tokenizer.eos_token_id is not None:
                ids = ids + [self.tokenizer.eos_token_id]
            self._completion_ids[title] = ids
        return list(self._completion_ids[title])

    def encode(
        self,
        history_item_ids: Sequence[int],
        candidate_item_ids: Sequence[int],
        target_item_id: int | None = None,
        hybrid: bool = True,
        template_id: int = 0,
    ) -> dict[str, list[int]]:
        """One example as lists: `input_ids`, `item_ids`, and with a target `labels` (prompt masked)."""
        prompt, item_ids = self.render(history_item_ids, candidate_item_ids, hybrid, template_id)
        input_ids = self.encode_prompt(prompt)
        num_placeholders = input_ids.count(self.item_token_id)
        if num_placeholders != len(item_ids):
            raise ValueError(
                f"The tokenised prompt has {num_placeholders} placeholder tokens for {len(item_ids)} items: "
                f"a title or template contains the placeholder {self.item_token!r}."
            )
        encoding = {"input_ids": input_ids, "item_ids": item_ids}
        if target_item_id is not None:
            completion_ids = self.encode_completion(self.catalogue.title(target_item_id))
            encoding["input_ids"] = input_ids + completion_ids
            encoding["labels"] = [IGNORE_INDEX] * len(input_ids) + completion_ids
        return encoding

    def pad(
        self,
        encodings: Sequence[dict[str, list[int]]],
        padding_side: str = "right",
        pad_to_multiple_of: int | None = None,
    ) -> dict[str, torch.Tensor]:
        """Stack encodings into tensors: `input_ids`, `attention_mask`, `item_ids` padded with -100, `labels`."""
        if padding_side not in ("left", "right"):
            raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}.")
        length = max(len(encoding["input_ids"]) for encoding in encodings)
        if pad_to_multiple_of:
            length = -(-length // pad_to_multiple_of) * pad_to_multiple_of
        max_items = max(len(encoding["item_ids"]) for encoding in encodings)

        def padded(values: list[int], width: int, value: int, side: str) -> list[int]:
            filler = [value] * (width - len(values))
            return filler + values if side == "left" else values + filler

        batch = {
            "input_ids": [
                padded(e["input_ids"], length, self.tokenizer.pad_token_id, padding_side) for e in encodings
            ],
            "attention_mask": [padded([1] * len(e["input_ids"]), length, 0, padding_side) for e in encodings],
            "item_ids": [padded(e["item_ids"], max_items, ITEM_PAD_ID, "right") for e in encodings],
        }
        if all("labels" in encoding for encoding in encodings):
            batch["labels"] = [padded(e["labels"], length, IGNORE_INDEX, padding_side) for e in encodings]
        return {key: torch.tensor(value, dtype=torch.long) for key, value in batch.items()}

    def __call__(
        self,
        history_item_ids: Sequence[Sequence[int]],
        candidate_item_ids: Sequence[Sequence[int]],
        target_item_ids: Sequence[int] | None = None,
        hybrid: bool = True,
        template_ids: int | Sequence[int] = 0,
        padding_side: str | None = None,
    ) -> BatchEncoding:
        """Encode a batch. Without targets it pads on the left, ready for `generate`."""
        if len(history_item_ids) != len(candidate_item_ids):
            raise ValueError(
                f"{len(history_item_ids)} histories but {len(candidate_item_ids)} candidate lists: pass one of each per row."
            )
        targets = [None] * len(history_item_ids) if target_item_ids is None else list(target_item_ids)
        if isinstance(template_ids, int):
            template_ids = [template_ids] * len(history_item_ids)
        encodings = [
            self.encode(history, candidates, target, hybrid, template_id)
            for history, candidates, target, template_id in zip(
                history_item_ids, candidate_item_ids, targets, template_ids, strict=True
            )
        ]
        side = padding_side or ("left" if target_item_ids is None else "right")
        return BatchEncoding(self.pad(encodings, padding_side=side))

    def to_dict(self) -> dict:
        return {
            "processor_class": type(self).__name__,
            "templates": list(self.templates),
            "item_token": self.item_token,
            "separator": self.separator,
            "completion_terminator": self.completion_terminator,
            "max_history_items": self.max_history_items,
        }

    def save_pretrained(self, save_directory: str | os.PathLike) -> None:
        """Write the tokenizer, the item catalogue and `llara_processor.json` into a folder."""
        os.makedirs(save_directory, exist_ok=True)
        self.tokenizer.save_pretrained(save_directory)
        self.catalogue.save(save_directory)
        path = os.path.join(save_directory, PROCESSOR_FILE)
        with open(f"{path}.tmp", "w", encoding="utf-8") as handle:
            json.dump(self.to_dict(), handle, indent=2, ensure_ascii=False)
        os.replace(f"{path}.tmp", path)

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, **kwargs) -> LlaraProcessor:
        """Load a processor saved with `save_pretrained`, from a folder or a Hub id."""
        folder = str(name_or_path)
        if not os.path.isdir(folder):
            if os.path.isabs(folder) or folder.startswith(".") or folder.count("/") > 1:
                raise FileNotFoundError(
                    f"No folder {folder} with a {PROCESSOR_FILE}: save the processor with `save_pretrained`."
                )
            from huggingface_hub import snapshot_download

            folder = snapshot_download(
                folder, allow_patterns=["*.json", "*.txt", "*.model", "*.jinja"], **kwargs
            )
        path = os.path.join(folder, PROCESSOR_FILE)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"No {PROCESSOR_FILE} in {name_or_path}: save the processor with `save_pretrained` beside the model."
            )
        with open(path, encoding="utf-8") as handle:
            settings = json.load(handle)
        settings.pop("processor_class", None)
        # The folder's config.json may name remote code for the model; the tokenizer never needs it.
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
        return cls(tokenizer, ItemCatalogue.load(folder), **settings)


__all__ = ["LlaraProcessor"]
