"""`LlaraDatasetBuilder` and `load_llara_dataset`: from a folder (or GroupLens) to training-ready prompts.

The builder is used programmatically (datasets >= 4 has no dataset scripts). All work happens before the
first row is written, so bad input raises its own clear error instead of a `DatasetGenerationError`. The
cache fingerprint covers every option, the source files' sizes and modification times, and this package's
code.

Candidates are drawn once per row with the seed and stored, for training rows too (the paper re-draws them
every epoch). Rows are then a pure function of the files, the options and the seed: cacheable, identical
for the language model and for the recommenders trained on the same rows, and a rerun sees exactly what
the first run saw; a re-draw per epoch would tie training to the data loader's random state.
"""

from __future__ import annotations

import copy
import functools
import inspect
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import datasets
from datasets.fingerprint import Hasher

from ..item_catalogue import ItemCatalogue
from .config import GROUPLENS_URLS, LlaraDataConfig, option_names
from .protocol import apply_history_limits
from .rows import ROW_FEATURES, build_rows, check_renders
from .sources import SOURCE_NAMES, SourceData, read_item_catalogue, read_source

logger = logging.getLogger(__name__)

LLARA_CITATION = """@inproceedings{liao2024llara,
  title={LLaRA: Large Language-Recommendation Assistant},
  author={Liao, Jiayi and Li, Sihang and Yang, Zhengyi and Wu, Jiancan and Yuan, Yancheng and Wang, Xiang and He, Xiangnan},
  booktitle={SIGIR},
  year={2024}
}"""


@functools.cache
def code_fingerprint() -> str:
    """A hash of the code that shapes the rows, so that a code change never reuses a stale cache."""
    package = Path(__file__).parent
    files = [
        *sorted(package.glob("*.py")),
        package.parent / "prompt_templates.py",
        package.parent / "item_catalogue.py",
    ]
    return Hasher.hash([file.read_text(encoding="utf-8") for file in files])


def source_signature(data_dir: str | None, *files: str | None) -> str | None:
    """A hash of the names, sizes and modification times of the files in `data_dir` and of `files`."""
    stats = []
    if data_dir is not None and os.path.isdir(data_dir):
        stats += [
            (entry.name, entry.stat().st_size, entry.stat().st_mtime_ns) for entry in os.scandir(data_dir)
        ]
    for file in files:
        path = file if file is None or data_dir is None else os.path.join(data_dir, file)
        if path is not None and os.path.isfile(path):
            stats.append((os.path.abspath(path), os.path.getsize(path), os.stat(path).st_mtime_ns))
    return Hasher.hash(sorted(stats)) if stats else None


def check_options(name: str, options: dict) -> None:
    """Raise a `ValueError` for an unknown dataset name or option, listing the valid ones."""
    if name not in SOURCE_NAMES:
        raise ValueError(f"Unknown dataset {name!r}: use one of {list(SOURCE_NAMES)}.")
    unknown = sorted(set(options) - set(option_names()))
    if unknown:
        raise ValueError(f"Unknown options {unknown}: the options are {list(option_names())}.")


def source_folder(config: LlaraDataConfig, download: Callable[[str], str]) -> str | None:
    """`config.data_dir`, or the GroupLens MovieLens folder fetched with `download` (URL -> extracted path)."""
    if config.data_dir is not None or config.name != "movielens":
        return config.data_dir
    logger.info("Downloading %s from GroupLens", config.grouplens_dataset)
    return os.path.join(download(GROUPLENS_URLS[config.grouplens_dataset]), config.grouplens_dataset)


def prepare_columns(
    config: LlaraDataConfig, folder: str | None
) -> tuple[SourceData, dict[str, dict[str, list]]]:
    """Read the source and return it with each split's rows, by column (`ROW_FEATURES`)."""
    source = read_source(config, folder)
    check_renders(source.catalogue, config.prompt_templates())
    logger.info("Read %s from %s (%s layout)", config.name, folder, source.layout)
    columns = {}
    for split, windows in source.windows.items():
        windows = apply_history_limits(windows, config.min_history, config.max_history)
        if not len(windows):
            raise ValueError(
                f"The {split} split of {config.name} ({source.layout} layout in {folder}) is empty after "
                f"dropping rows with fewer than {config.min_history} history items: lower min_history, "
                "or give more users or longer histories."
            )
        columns[split] = build_rows(
            windows, source.catalogue, config.prompt_templates(), config.num_candidates, config.seed, split
        )
    return source, columns


class LlaraDatasetBuilder(datasets.GeneratorBasedBuilder):
    """Rows of LLaRA prompts (`ROW_FEATURES`) with `train`, `validation` and `test` splits.

    Configs: `movielens` (the LLaRA release folder, or GroupLens ML-100K / latest / 1M files, downloaded
    when `data_dir` is None), `lastfm` and `steam` (LLaRA release folders) and `interactions` (your own
    tables). Options are the fields of `LlaraDataConfig`, e.g.
    `LlaraDatasetBuilder(config_name="movielens", data_dir="ml-100k", seed=0)`.
    """

    VERSION = datasets.Version("1.0.0")
    BUILDER_CONFIG_CLASS = LlaraDataConfig
    BUILDER_CONFIGS = [
        LlaraDataConfig(
            name="movielens", domain="movie", description="MovieLens (LLaRA release or GroupLens)"
        ),
        LlaraDataConfig(name="lastfm", domain="music_artist", description="LastFM (LLaRA release)"),
        LlaraDataConfig(name="steam", domain="game", description="Steam (LLaRA release)"),
        LlaraDataConfig(
            name="interactions", domain="movie", description="Your interactions and items tables"
        ),
    ]

    def __init__(self, *, config_name: str, data_dir: str | None = None, **kwargs) -> None:
        builder_options = inspect.signature(datasets.DatasetBuilder.__init__).parameters
        check_options(
            config_name, {key: value for key, value in kwargs.items() if key not in builder_options}
        )
        data_dir = None if data_dir is None else os.path.abspath(data_dir)
        kwargs.setdefault("dataset_name", "llara")
        kwargs.setdefault("hash", code_fingerprint())
        signature = source_signature(data_dir, kwargs.get("interactions_file"), kwargs.get("items_file"))
        super().__init__(config_name=config_name, data_dir=data_dir, source_signature=signature, **kwargs)
        self.config.validate()

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description="LLaRA prompts: a history, seeded candidates and the target, as text and hybrid prompts.",
            features=ROW_FEATURES,
            homepage="https://github.com/ljy0ustc/LLaRA",
            citation=LLARA_CITATION,
        )

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        folder = source_folder(self.config, dl_manager.download_and_extract)
        _, columns_by_split = prepare_columns(self.config, folder)
        return [
            datasets.SplitGenerator(name=split, gen_kwargs={"columns": columns})
            for split, columns in columns_by_split.items()
        ]

    def _generate_examples(self, columns: dict[str, list]) -> Iterator[tuple[int, dict]]:
        names = list(columns)
        for index, values in enumerate(zip(*columns.values(), strict=True)):
            yield index, dict(zip(names, values, strict=True))


def load_llara_dataset(
    name: str,
    data_dir: str | None = None,
    seed: int = 42,
    trust_pickles: bool = False,
    *,
    cache_dir: str | None = None,
    **options,
) -> datasets.DatasetDict:
    """Build (or load from the cache) the `train`/`validation`/`test` rows of a LLaRA dataset.

    `name` is `movielens`, `lastfm`, `steam` or `interactions`; `data_dir` is a folder in any layout that
    config reads (for `movielens`, None downloads ML-100K from GroupLens). `trust_pickles=True` allows
    unpickling the LLaRA release's split files. `options` are `LlaraDataConfig` fields (`num_candidates`,
    `max_history`, `min_history`, `domain`, `templates`, `interactions_file`, `user_column`, ...).
    """
    builder = LlaraDatasetBuilder(
        config_name=name,
        data_dir=data_dir,
        cache_dir=cache_dir,
        seed=seed,
        trust_pickles=trust_pickles,
        **options,
    )
    builder.download_and_prepare()
    return builder.as_dataset()


def named_config(name: str, data_dir: str | None = None, **options) -> LlaraDataConfig:
    """The validated config `load_llara_dataset(name, data_dir, **options)` builds with (for reading alone)."""
    check_options(name, options)
    config = copy.deepcopy(
        next(config for config in LlaraDatasetBuilder.BUILDER_CONFIGS if config.name == name)
    )
    for option, value in {"data_dir": data_dir, **options}.items():
        setattr(config, option, value)
    config.validate()
    return config


def load_item_catalogue(name: str, data_dir: str | None = None, **options) -> ItemCatalogue:
    """The item catalogue the same folder and options give `load_llara_dataset` (never unpickles)."""
    config = named_config(name, data_dir, **options)
    download = datasets.DownloadManager(dataset_name="llara").download_and_extract
    return read_item_catalogue(config, source_folder(config, download))
