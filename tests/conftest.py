"""Shared pytest fixtures."""

import atexit
import itertools
import os
import re
import shutil
import sys
import tempfile

import pytest
from hub_server import OFFLINE_VARIABLES, LocalHub

# ---------------------------------------------------------------------------------------------------------------
# Local Hub (tests/hub_server.py)
#
# huggingface_hub, transformers and datasets read HF_ENDPOINT, HF_HOME, ... once, when first imported, and test
# modules import them at collection time: so the Hub starts and the environment is set here, before anything
# imports them. Every test and subprocess then talks to the local Hub only, with caches in a temporary folder.
# ---------------------------------------------------------------------------------------------------------------

if "huggingface_hub" in sys.modules:
    raise RuntimeError(
        "huggingface_hub was imported before tests/conftest.py could point HF_ENDPOINT at the local test Hub: "
        "remove the early import (a pytest plugin or a root-level conftest.py)."
    )

LOCAL_HUB = LocalHub().start()
_HF_HOME = tempfile.mkdtemp(prefix="llara-hf-tests-hf-home-")
atexit.register(shutil.rmtree, _HF_HOME, ignore_errors=True)
for _variable in OFFLINE_VARIABLES:  # offline mode blocks every request, the local Hub's too
    os.environ.pop(_variable, None)
os.environ.update(LOCAL_HUB.environment(_HF_HOME))
_REPO_NUMBERS = itertools.count()


@pytest.fixture(scope="session")
def hub() -> LocalHub:
    """The local Hub every Hub client of the test session talks to (`hub.endpoint`, `hub.token`, `hub.user`)."""
    return LOCAL_HUB


@pytest.fixture
def hub_env() -> dict[str, str]:
    """Environment for a subprocess that must use the local Hub: `subprocess.run(..., env=hub_env)`.

    It shares the session's Hub cache: pass `cache_dir=` in the subprocess to force fresh downloads.
    """
    environment = {name: value for name, value in os.environ.items() if name not in OFFLINE_VARIABLES}
    return {**environment, **LOCAL_HUB.environment(_HF_HOME)}


@pytest.fixture
def hub_repo_id(request: pytest.FixtureRequest) -> str:
    """A repo id in the local Hub user's namespace that no other test uses (the repo is not created)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name).strip("-.")[:80]
    return f"{LOCAL_HUB.user}/{name}-{next(_REPO_NUMBERS)}"
