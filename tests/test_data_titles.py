"""Title rules of the data layer."""

import pytest

from llara_hf.data.titles import clean_title, movielens_title


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ("Usual Suspects, The (1995)", "The Usual Suspects"),
        ("Toy Story (1995)", "Toy Story"),
        ("Heidi Fleiss: Hollywood Madam (1995) ", "Heidi Fleiss: Hollywood Madam"),
        ("Bug's Life, A (1998)", "A Bug's Life"),
        ("Officer and a Gentleman, An (1982)", "An Officer and a Gentleman"),
        (
            "Horseman on the Roof, The (Hussard sur le toit, Le) (1995)",
            "The Horseman on the Roof (Hussard sur le toit, Le)",
        ),
        ("Die xue shuang xiong (Killer, The) (1989)", "Die xue shuang xiong (Killer, The)"),
        ("Good, the Bad and the Ugly, The (1966)", "The Good, the Bad and the Ugly"),
        ("Band of Brothers (2001–2001)", "Band of Brothers"),
        ("Paris, Texas (1984)", "Paris, Texas"),
        ("Babylon 5", "Babylon 5"),
        ("unknown", "unknown"),
    ],
)
def test_movielens_title_strips_the_year_and_moves_the_article(raw, title):
    assert movielens_title(raw) == title


def test_clean_title_collapses_whitespace_only():
    assert clean_title("  Café   Del Mar \n") == "Café Del Mar"
