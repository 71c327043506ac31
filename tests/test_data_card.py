"""The dataset card template renders with huggingface_hub and warns against redistributing MovieLens."""

from pathlib import Path

from huggingface_hub import DatasetCard, DatasetCardData

TEMPLATE = Path(__file__).resolve().parents[1] / "model_cards" / "dataset_card.md"


def render(**fields) -> str:
    values = dict(
        config_name="movielens",
        layout="ml-100k",
        movielens=True,
        source_description="MovieLens 100K (GroupLens)",
        source="https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        num_items=1682,
        source_ids=True,
        max_history=10,
        min_history=3,
        split_ratios=[8, 1, 1],
        seed=42,
        num_candidates=20,
        domain="movie",
        num_rows={"train": 79124, "validation": 94, "test": 95},
        command="llara prepare movielens --seed 42 --output-dir prepared",
    )
    values.update(fields)
    card_data = DatasetCardData(
        pretty_name="LLaRA MovieLens", license="other", tags=["llara", "recommendation"]
    )
    return str(DatasetCard.from_template(card_data, template_path=str(TEMPLATE), **values))


def test_movielens_card_warns_and_lists_protocol_and_sizes():
    card = render()
    assert "**MovieLens data must not be redistributed.**" in card
    assert "| validation | 94 |" in card and "| test | 95 |" in card
    assert "8:1:1 (train:validation:test) with seed 42" in card
    assert "seed (42)" in card and "llara prepare movielens --seed 42" in card
    assert "the items the user never interacted with" in card
    assert DatasetCard(card).data.pretty_name == "LLaRA MovieLens"


def test_release_card_without_movielens_has_no_warning():
    card = render(
        config_name="lastfm",
        layout="llara-release",
        movielens=False,
        source_description="LastFM (LLaRA release, from HetRec 2011)",
        licence_note="LastFM data derives from the HetRec 2011 Last.fm release.",
        num_rows={"train": 47872, "validation": 122},
    )
    assert "must not be redistributed" not in card
    assert "The LLaRA release's own train/validation/test windows" in card
    assert "the catalogue outside the row's history and\ntarget" in card
    assert "HetRec 2011" in card
