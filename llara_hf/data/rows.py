"""The dataset's rows: history, candidates, target, template and the rendered prompts (`ROW_FEATURES`)."""

from __future__ import annotations

from collections.abc import Sequence

import datasets

from ..item_catalogue import ItemCatalogue
from ..prompt_templates import DEFAULT_ITEM_TOKEN, render_prompt
from .candidates import sample_candidates
from .protocol import SplitWindows, split_rng

ROW_FEATURES = datasets.Features(
    {
        "user_id": datasets.Value("string"),
        "history_item_ids": datasets.List(datasets.Value("int64")),
        "history_titles": datasets.List(datasets.Value("string")),
        "candidate_item_ids": datasets.List(datasets.Value("int64")),
        "candidate_titles": datasets.List(datasets.Value("string")),
        "target_item_id": datasets.Value("int64"),
        "target_title": datasets.Value("string"),
        "template_id": datasets.Value("int32"),
        "prompt": datasets.Value("string"),
        "prompt_text_only": datasets.Value("string"),
        "completion": datasets.Value("string"),
    }
)


def check_renders(
    catalogue: ItemCatalogue, templates: Sequence[str], item_token: str = DEFAULT_ITEM_TOKEN
) -> None:
    """Refuse titles or templates holding the placeholder token: prompts would have more placeholders than items."""
    clashing = [item_id for item_id, title in enumerate(catalogue.titles) if item_token in title]
    if clashing:
        raise ValueError(
            f"Items {clashing[:10]} have titles containing the placeholder token {item_token!r}: rename them."
        )
    if any(item_token in template for template in templates):
        raise ValueError(f"A prompt template contains the placeholder token {item_token!r}: remove it.")


def build_rows(
    windows: SplitWindows,
    catalogue: ItemCatalogue,
    templates: Sequence[str],
    num_candidates: int,
    seed: int,
    split: str,
) -> dict[str, list]:
    """Sample candidates and templates for one split (seeded per split) and render both prompts, by column."""
    candidates = sample_candidates(
        windows.targets,
        windows.excluded,
        catalogue.num_items,
        num_candidates,
        split_rng(seed, "candidates", split),
        windows.user_ids,
    ).tolist()
    template_ids = split_rng(seed, "templates", split).integers(0, len(templates), size=len(windows)).tolist()
    titles = catalogue.titles
    histories = [history.tolist() for history in windows.histories]
    history_titles = [[titles[item] for item in history] for history in histories]
    candidate_titles = [[titles[item] for item in row] for row in candidates]
    target_titles = [titles[item] for item in windows.targets.tolist()]
    rows = zip(template_ids, history_titles, candidate_titles, strict=True)
    prompts, text_prompts = [], []
    for template_id, history, candidate in rows:
        prompts.append(
            render_prompt(templates[template_id], history, candidate, item_token=DEFAULT_ITEM_TOKEN)
        )
        text_prompts.append(render_prompt(templates[template_id], history, candidate, item_token=None))
    return {
        "user_id": [None] * len(windows) if windows.user_ids is None else list(windows.user_ids),
        "history_item_ids": histories,
        "history_titles": history_titles,
        "candidate_item_ids": candidates,
        "candidate_titles": candidate_titles,
        "target_item_id": windows.targets.tolist(),
        "target_title": target_titles,
        "template_id": template_ids,
        "prompt": prompts,
        "prompt_text_only": text_prompts,
        "completion": target_titles,
    }
