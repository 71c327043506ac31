"""The paper's prompt templates and the one function that renders a prompt from item titles.

A template is a plain string with the fields `{history}` and `{candidates}` (and optionally
`{num_candidates}`). An item renders as its title, followed by the placeholder token in the
hybrid form. The paper's templates say "10" candidates where its runs use 20; ours say how many
there are.
"""

from __future__ import annotations

from collections.abc import Sequence

PROMPT_TEMPLATES: dict[str, tuple[str, ...]] = {
    "movie": (
        "This user has watched {history} in the previous. Please predict the next movie this user will "
        "watch. Choose the answer from the following {num_candidates} movie titles: {candidates}. Answer: ",
        "This user has watched {history} in the previous. Given the following {num_candidates} movie titles: "
        "{candidates}, recommend one movie for this user to watch next. The movie title you recommend is: ",
        "The visit history of this user is: {history}. Recommend a next movie for this user to watch from the "
        "following movie title set: {candidates}. The recommendation should contain one movie title only. "
        "Recommendation: ",
    ),
    "game": (
        "This user has played {history} in the previous. Please predict the next game this user will play. "
        "The game title candidates are {candidates}. Choose only one game from the candidates. The answer is ",
        "This user has played {history} in the previous. Given the following {num_candidates} game titles, "
        "{candidates}, recommend one game for this user to play next. The game title you recommend is ",
        "The visit history of this user is {history}. Recommend a next game for this user to play from the "
        "following game title set, {candidates}. The recommendation should contain one game title only. "
        "The recommendation is ",
    ),
    "music_artist": (
        "This user has listened to {history} in the previous. Please predict the next music artist this user "
        "will listen to. The artist name candidates are {candidates}. Choose only one artist from the "
        "candidates. The answer is ",
        "This user has listened to {history} in the previous. Given the following {num_candidates} music "
        "artist names, {candidates}, recommend one artist for this user to listen to next. The artist name "
        "you recommend is ",
        "The listening history of this user is {history}. Recommend the next music artist for this user to "
        "listen to from the following artist name set, {candidates}. The recommendation should contain one "
        "artist's name only. The recommendation is ",
    ),
}

DEFAULT_ITEM_TOKEN = "[ItemEmb]"
DEFAULT_SEPARATOR = ", "


def resolve_templates(templates: str | Sequence[str]) -> tuple[str, ...]:
    """Return the templates of a built-in domain (`movie`, `game`, `music_artist`) or check custom ones."""
    if isinstance(templates, str):
        if templates not in PROMPT_TEMPLATES:
            raise ValueError(
                f"Unknown prompt domain {templates!r}: use one of {sorted(PROMPT_TEMPLATES)} "
                "or pass your own list of templates with '{history}' and '{candidates}' fields."
            )
        return PROMPT_TEMPLATES[templates]
    resolved = tuple(templates)
    if not resolved:
        raise ValueError("No prompt templates given: pass a domain name or at least one template.")
    for template in resolved:
        for field in ("{history}", "{candidates}"):
            if template.count(field) != 1:
                raise ValueError(f"Prompt template {template!r} must contain {field} exactly once.")
    return resolved


def history_comes_first(template: str) -> bool:
    """Whether the history's items precede the candidates' items in a rendered prompt."""
    return template.index("{history}") < template.index("{candidates}")


def render_items(titles: Sequence[str], item_token: str | None, separator: str = DEFAULT_SEPARATOR) -> str:
    """Join titles, each followed by ` <item_token>` in the hybrid form (`item_token` given)."""
    if item_token is None:
        return separator.join(titles)
    return separator.join(f"{title} {item_token}" for title in titles)


def render_prompt(
    template: str,
    history_titles: Sequence[str],
    candidate_titles: Sequence[str],
    item_token: str | None = None,
    separator: str = DEFAULT_SEPARATOR,
) -> str:
    """Render one prompt; text-only when `item_token` is None, hybrid otherwise."""
    return template.format(
        history=render_items(history_titles, item_token, separator),
        candidates=render_items(candidate_titles, item_token, separator),
        num_candidates=len(candidate_titles),
    )
