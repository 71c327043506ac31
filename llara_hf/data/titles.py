"""Title rules: how each source's raw item names become the titles shown in prompts."""

from __future__ import annotations

import re

# A trailing release year such as "(1995)", or a range such as "(2006-2007)" or "(2006– )" in MovieLens latest.
_TRAILING_YEAR = re.compile(r"\s*\(\d{4}(?:\s*[-–]\s*(?:\d{4})?\s*)?\)\s*$")
# "Usual Suspects, The" or "Horseman on the Roof, The (Hussard sur le toit, Le)": the article closes the main
# title, before any parenthesised alternative title.
_TRAILING_ARTICLE = re.compile(r"^(?P<name>[^()]+?), (?P<article>The|A|An)(?P<rest>\s+\(.*\))?$")


def clean_title(raw: str) -> str:
    """Collapse surrounding whitespace; the rule for LastFM artists, Steam games and users' own titles."""
    return " ".join(str(raw).split())


def movielens_title(raw: str) -> str:
    """A MovieLens title without its year and with a trailing ", The"/", A"/", An" moved to the front.

    "Usual Suspects, The (1995)" becomes "The Usual Suspects".
    """
    title = _TRAILING_YEAR.sub("", clean_title(raw))
    match = _TRAILING_ARTICLE.match(title)
    if match is not None:
        title = f"{match['article']} {match['name']}{match['rest'] or ''}"
    return title
