"""The local test Hub (tests/hub_server.py), exercised through the real huggingface_hub and datasets clients."""

import hashlib
import random
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import datasets
import httpx2
import pytest
from hub_server import GITATTRIBUTES, LocalHub
from huggingface_hub import HfApi, HfFileSystem, hf_hub_download, snapshot_download
from huggingface_hub.errors import (
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

SEED = 0


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def model_files() -> dict[str, bytes]:
    """A text file, a weight file (LFS by name) and a binary file above the 10 MiB LFS threshold."""
    generator = random.Random(SEED)
    return {
        "notes.txt": b"LLaRA test repo\n",
        "weights/model.safetensors": generator.randbytes(2048),
        "blob.dat": generator.randbytes(10 * 1024 * 1024 + 1),
    }


@pytest.fixture(scope="module")
def model_repo(hub: LocalHub, model_files: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory) -> str:
    """A model repo holding `model_files`, pushed with `upload_folder`."""
    folder = tmp_path_factory.mktemp("model")
    for path, data in model_files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    repo_id = HfApi().create_repo(f"{hub.user}/uploaded-model").repo_id
    HfApi().upload_folder(folder_path=folder, repo_id=repo_id)
    return repo_id


def test_create_repo_starts_with_an_initial_commit_and_can_be_deleted(hub: LocalHub, hub_repo_id: str):
    api = HfApi()
    url = api.create_repo(hub_repo_id)

    assert url == f"{hub.endpoint}/{hub_repo_id}" and url.repo_id == hub_repo_id
    info = api.repo_info(hub_repo_id)
    assert re.fullmatch("[0-9a-f]{40}", info.sha)
    assert [sibling.rfilename for sibling in info.siblings] == [".gitattributes"]
    assert [commit.title for commit in api.list_repo_commits(hub_repo_id)] == ["initial commit"]
    with pytest.raises(HfHubHTTPError) as conflict:
        api.create_repo(hub_repo_id)
    assert conflict.value.response.status_code == 409
    assert api.create_repo(hub_repo_id, exist_ok=True).repo_id == hub_repo_id

    api.delete_repo(hub_repo_id)
    assert not api.repo_exists(hub_repo_id)


def test_upload_folder_sends_weights_and_large_files_through_lfs(
    hub: LocalHub, model_repo: str, model_files: dict[str, bytes]
):
    tree = {entry.path: entry for entry in HfApi().list_repo_tree(model_repo, recursive=True)}

    assert set(HfApi().list_repo_files(model_repo)) == {".gitattributes", *model_files}
    assert tree["weights"].tree_id and tree["notes.txt"].lfs is None
    for path in ("weights/model.safetensors", "blob.dat"):
        assert tree[path].lfs.sha256 == _sha256(model_files[path])
        assert tree[path].size == len(model_files[path])
        assert ("PUT", f"/lfs/{_sha256(model_files[path])}", 200) in hub.requests


def test_downloads_return_the_uploaded_bytes(model_repo: str, model_files: dict[str, bytes]):
    for path, data in model_files.items():
        with open(hf_hub_download(model_repo, path), "rb") as file:
            assert file.read() == data

    # The cache names blobs by ETag: git sha1 for regular files, sha256 (X-Linked-Etag) for LFS files.
    blob_names = {path: Path(hf_hub_download(model_repo, path)).resolve().name for path in model_files}
    assert blob_names["notes.txt"] == hashlib.sha1(b"blob 16\0" + model_files["notes.txt"]).hexdigest()
    assert blob_names["blob.dat"] == _sha256(model_files["blob.dat"])

    snapshot = snapshot_download(model_repo)
    for path, data in {**model_files, ".gitattributes": GITATTRIBUTES.encode()}.items():
        with open(f"{snapshot}/{path}", "rb") as file:
            assert file.read() == data


def test_hf_file_system_reads_byte_ranges_of_regular_and_lfs_files(
    model_repo: str, model_files: dict[str, bytes]
):
    fs = HfFileSystem()
    for path in ("notes.txt", "blob.dat"):
        assert fs.cat_file(f"{model_repo}/{path}", start=5, end=12) == model_files[path][5:12]
    assert fs.info(f"{model_repo}/blob.dat")["size"] == len(model_files["blob.dat"])


def test_a_fresh_subprocess_downloads_by_repo_id(
    model_repo: str, model_files: dict[str, bytes], hub_env: dict[str, str], tmp_path
):
    script = textwrap.dedent(
        """
        import hashlib, pathlib, sys
        from huggingface_hub import hf_hub_download, snapshot_download

        repo_id, cache_dir = sys.argv[1:]
        print(pathlib.Path(hf_hub_download(repo_id, "notes.txt", cache_dir=cache_dir)).read_text(), end="")
        snapshot = pathlib.Path(snapshot_download(repo_id, cache_dir=cache_dir))
        for file in sorted(p for p in snapshot.rglob("*") if p.is_file()):
            print(file.relative_to(snapshot).as_posix(), hashlib.sha256(file.read_bytes()).hexdigest())
        """
    )
    command = [sys.executable, "-c", script, model_repo, str(tmp_path / "fresh-cache")]
    result = subprocess.run(command, env=hub_env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    files = {**model_files, ".gitattributes": GITATTRIBUTES.encode()}
    expected = [model_files["notes.txt"].decode().strip()]
    expected += [f"{path} {_sha256(data)}" for path, data in sorted(files.items())]
    assert result.stdout.splitlines() == expected


def test_a_second_commit_moves_main_and_keeps_the_first_revision(hub_repo_id: str):
    api = HfApi()
    api.create_repo(hub_repo_id)
    first = api.upload_file(path_or_fileobj=b"v1\n", path_in_repo="version.txt", repo_id=hub_repo_id).oid
    second = api.upload_file(path_or_fileobj=b"v2\n", path_in_repo="version.txt", repo_id=hub_repo_id).oid

    assert first != second and api.repo_info(hub_repo_id).sha == second
    assert api.repo_info(hub_repo_id, revision=first).sha == first
    assert [ref.target_commit for ref in api.list_repo_refs(hub_repo_id).branches] == [second]
    for revision, content in ((first, b"v1\n"), (second, b"v2\n"), ("main", b"v2\n")):
        with open(hf_hub_download(hub_repo_id, "version.txt", revision=revision), "rb") as file:
            assert file.read() == content
    with pytest.raises(HfHubHTTPError) as outdated:
        api.upload_file(
            path_or_fileobj=b"v3\n", path_in_repo="version.txt", repo_id=hub_repo_id, parent_commit=first
        )
    assert outdated.value.response.status_code == 412


def test_branches_and_deletions(hub_repo_id: str):
    api = HfApi()
    api.create_repo(hub_repo_id)
    api.upload_file(path_or_fileobj=b"a", path_in_repo="folder/a.txt", repo_id=hub_repo_id)
    api.create_branch(hub_repo_id, branch="dev")
    api.upload_file(path_or_fileobj=b"b", path_in_repo="folder/b.txt", repo_id=hub_repo_id, revision="dev")
    api.delete_folder("folder", repo_id=hub_repo_id)

    assert api.list_repo_files(hub_repo_id) == [".gitattributes"]
    assert api.list_repo_files(hub_repo_id, revision="dev") == [
        ".gitattributes",
        "folder/a.txt",
        "folder/b.txt",
    ]
    assert {branch.name for branch in api.list_repo_refs(hub_repo_id).branches} == {"main", "dev"}
    with pytest.raises(RemoteEntryNotFoundError, match="doesn't exist"):
        api.delete_file("missing.txt", repo_id=hub_repo_id)


def test_pushing_without_a_valid_token_fails_with_an_authentication_message(
    hub: LocalHub, model_repo: str, hub_repo_id: str
):
    with pytest.raises(HfHubHTTPError, match="Authentication required.*token") as no_token:
        HfApi(token=False).create_repo(hub_repo_id)
    assert no_token.value.response.status_code == 401

    with pytest.raises(HfHubHTTPError, match="Authentication required.*token"):
        HfApi(token=False).upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=model_repo)
    with pytest.raises(HfHubHTTPError, match="Invalid credentials in Authorization header"):
        HfApi(token="hf_wrong").upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=model_repo)
    assert "x.txt" not in HfApi().list_repo_files(model_repo)
    assert HfApi().whoami()["name"] == hub.user


def test_private_repos_need_the_token_to_be_read(hub_repo_id: str):
    HfApi().create_repo(hub_repo_id, private=True)

    assert HfApi().repo_info(hub_repo_id).private
    with pytest.raises(RepositoryNotFoundError):
        HfApi(token=False).repo_info(hub_repo_id)


@pytest.mark.parametrize(
    ("repo_suffix", "filename", "revision", "error"),
    [
        ("-missing", ".gitattributes", None, RepositoryNotFoundError),
        ("", ".gitattributes", "no-such-branch", RevisionNotFoundError),
        ("", ".gitattributes", "refs/convert/parquet", RevisionNotFoundError),
        ("", "no_such_file.txt", None, RemoteEntryNotFoundError),
    ],
)
def test_missing_repo_revision_or_file_raise_the_client_errors(
    model_repo: str, repo_suffix: str, filename: str, revision: str | None, error: type[Exception]
):
    with pytest.raises(error):
        hf_hub_download(model_repo + repo_suffix, filename, revision=revision)


def test_an_endpoint_without_a_server_raises_a_connection_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        unused_port = probe.getsockname()[1]
    api = HfApi(endpoint=f"http://127.0.0.1:{unused_port}")

    with pytest.raises(httpx2.ConnectError):
        api.create_repo("someone/anything")
    with pytest.raises(httpx2.ConnectError):
        api.repo_info("someone/anything")


def test_dataset_dict_push_to_hub_then_load_dataset_round_trips(hub_repo_id: str):
    splits = {
        "train": {"user": [1, 2, 3], "history": [[4, 5], [6], []], "title": ["a", "b", "c"]},
        "test": {"user": [9], "history": [[1, 2]], "title": ["z"]},
    }
    pushed = datasets.DatasetDict({split: datasets.Dataset.from_dict(rows) for split, rows in splits.items()})

    pushed.push_to_hub(hub_repo_id)
    loaded = datasets.load_dataset(hub_repo_id)

    assert sorted(loaded) == ["test", "train"]
    for split, rows in splits.items():
        assert loaded[split].to_dict() == rows
    data_files = [
        path for path in HfApi().list_repo_files(hub_repo_id, repo_type="dataset") if path.startswith("data/")
    ]
    assert len(data_files) == 2 and all(path.endswith(".parquet") for path in data_files)
