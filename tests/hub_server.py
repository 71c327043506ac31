"""A local, in-memory Hugging Face Hub for tests.

`LocalHub` speaks the part of the Hub HTTP protocol that `huggingface_hub` 2.x (Xet disabled), `transformers`
and `datasets` use to push and pull model and dataset repositories, so tests run the real clients end to end
on 127.0.0.1 without network access. Standard library only; repositories live in memory.

Two listeners run in daemon threads:

* the Hub itself, the `HF_ENDPOINT`;
* a "CDN" on another port that receives and serves LFS objects through signed URLs, like the S3 / CloudFront
  URLs of the real Hub. Because it is another origin, the client stops at the Hub's 302 to read the file
  metadata and drops its `Authorization` header when it follows the redirect, exactly as with the real Hub.

Hub endpoints (`{type}` is `models` or `datasets`; `{prefix}` is empty for models and `datasets/` for datasets):

    GET      /api/whoami-v2
    POST     /api/repos/create                         {"name", "organization", "type", "private" | "visibility"}
    DELETE   /api/repos/delete                         {"name", "organization", "type"}
    POST     /api/validate-yaml                        always valid
    GET      /api/{type}/{repo_id}                     repo info at `main` (`?blobs=true`: sizes and LFS info)
    GET      /api/{type}/{repo_id}/revision/{rev}      repo info at a branch or a commit sha
    GET      /api/{type}/{repo_id}/tree/{rev}[/{path}] `?recursive=true`, `?expand=true` (last commits)
    POST     /api/{type}/{repo_id}/paths-info/{rev}    form `paths=...&paths=...&expand=...`
    GET      /api/{type}/{repo_id}/refs                branches (no tags, converts or pull requests)
    GET      /api/{type}/{repo_id}/commits/{rev}       history, newest first
    POST     /api/{type}/{repo_id}/branch/{branch}     {"startingPoint": rev}
    POST     /api/{type}/{repo_id}/preupload/{rev}     "lfs" for files >= 10 MiB, binary samples, LFS patterns
    POST     /api/{type}/{repo_id}/commit/{branch}     ndjson: header (`parentCommit`, else 412), file,
                                                       lfsFile, deletedFile, deletedFolder
    POST     /{prefix}{repo_id}.git/info/lfs/objects/batch    LFS upload, basic transfer
    POST     /{prefix}{repo_id}.git/info/lfs/objects/verify
    HEAD|GET /{prefix}{repo_id}/resolve/{rev}/{path}   regular file: 200 with ETag (git sha1), X-Repo-Commit,
                                                       Content-Length and Range support; LFS file: 302 to the
                                                       CDN with X-Linked-Etag (sha256), X-Linked-Size and the
                                                       pointer's git sha1 as ETag

CDN endpoints: PUT /lfs/{sha256}?signature=... stores an object (the sha256 is checked);
HEAD|GET /lfs/{sha256}?signature=... serves it (Range support).

Writes need `Authorization: Bearer <token>`: 401 without it, and 401 "Invalid credentials in Authorization
header" for a wrong token, as on the Hub; private repos need the token for reads too. Errors carry the Hub's
`X-Error-Code` (RepoNotFound, RevisionNotFound, EntryNotFound), so the client raises its usual exceptions.
Every request is recorded in `LocalHub.requests`.

Not implemented: Xet storage, multipart LFS uploads, pull requests (`create_pr`), tags, spaces, buckets, gated
repos, repo settings / move / duplication, discussions, `.gitignore` handling, pagination (every listing is a
single page), the dataset viewer (its `datasets-server.` host does not resolve, which the clients tolerate).
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import json
import posixpath
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple
from urllib.parse import parse_qs, unquote

DEFAULT_TOKEN = "hf_local_test_hub_token"
DEFAULT_USER = "llara-tester"
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024
# The Hub's default `.gitattributes`: files matching these patterns always go through LFS.
LFS_PATTERNS = (
    "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib", "*.lfs.*", "*.mlmodel",
    "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot", "*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt",
    "*.pth", "*.rar", "*.safetensors", "*.tar.*", "*.tflite", "*.tgz", "*.wasm", "*.xz", "*.zip", "*.zst",
    "*tfevents*",
)  # fmt: skip
GITATTRIBUTES = "".join(f"{pattern} filter=lfs diff=lfs merge=lfs -text\n" for pattern in LFS_PATTERNS)
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")
INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass(frozen=True)
class _File:
    """One version of a file: its bytes and the ids git / git-lfs give it."""

    data: bytes
    is_lfs: bool
    last_commit: str

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def lfs_pointer(self) -> bytes:
        return f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {len(self.data)}\n".encode()

    @cached_property
    def git_oid(self) -> str:
        return _git_oid(self.lfs_pointer if self.is_lfs else self.data)


@dataclass(frozen=True)
class _Commit:
    oid: str
    title: str
    message: str
    date: str
    parent: str | None
    files: dict[str, _File]


@dataclass
class _Repo:
    repo_type: str
    repo_id: str
    private: bool
    created_at: str = field(default_factory=_now)
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, _Commit] = field(default_factory=dict)

    @property
    def url_prefix(self) -> str:
        return "datasets/" if self.repo_type == "dataset" else ""

    def resolve(self, revision: str) -> _Commit:
        oid = self.branches.get(revision, revision)
        if oid not in self.commits:
            raise _HubError(404, f"Invalid rev id: {revision}", code="RevisionNotFound")
        return self.commits[oid]

    def next_commit_oid(self) -> str:
        return hashlib.sha1(f"{self.repo_id} {time.time_ns()} {len(self.commits)}".encode()).hexdigest()

    def add_commit(self, branch: str, oid: str, title: str, message: str, files: dict[str, _File]) -> _Commit:
        """Record the snapshot `files` as commit `oid` (from `next_commit_oid`) on top of `branch`."""
        commit = _Commit(oid, title, message, _now(), self.branches.get(branch), files)
        self.commits[oid] = commit
        self.branches[branch] = oid
        return commit


class _HubError(Exception):
    """An error answer, with the Hub's `X-Error-Code` when the client maps it to an exception."""

    def __init__(
        self, status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers or {}

    def response(self) -> _Response:
        headers = {**self.headers, "X-Error-Message": self.message}
        if self.code:
            headers["X-Error-Code"] = self.code
        return _json({"error": self.message}, self.status, headers)


@dataclass
class _Request:
    method: str
    parts: list[str]  # raw (still percent-encoded) path segments
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    user: str | None  # authenticated user, None for anonymous requests

    def flag(self, name: str) -> bool:
        return self.query.get(name, ["false"])[-1].lower() in ("1", "true")

    def json(self) -> dict:
        return json.loads(self.body or b"{}")


@dataclass
class _Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def _json(payload: object, status: int = 200, headers: dict[str, str] | None = None) -> _Response:
    return _Response(
        status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})}
    )


def _content(request: _Request, data: bytes, headers: dict[str, str]) -> _Response:
    """200 with `data`, or 206 with the slice asked by a `Range: bytes=start-end` header."""
    headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes", **headers}
    if "range" not in request.headers:
        return _Response(200, data, headers)
    start_text, _, end_text = request.headers["range"].removeprefix("bytes=").partition("-")
    if start_text:
        start, end = int(start_text), min(int(end_text or len(data) - 1), len(data) - 1)
    else:
        start, end = max(len(data) - int(end_text), 0), len(data) - 1
    if start >= len(data) or start > end:
        raise _HubError(
            416, "Requested range not satisfiable", headers={"Content-Range": f"bytes */{len(data)}"}
        )
    return _Response(
        206, data[start : end + 1], {**headers, "Content-Range": f"bytes {start}-{end}/{len(data)}"}
    )


class RecordedRequest(NamedTuple):
    method: str
    path: str
    status: int


class LocalHub:
    """In-memory Hub served on `endpoint`, with LFS objects on a second origin (see the module docstring).

    The ports are bound on construction (the OS picks free ones); `start()` serves them in daemon threads.
    """

    def __init__(self, token: str = DEFAULT_TOKEN, user: str = DEFAULT_USER, host: str = "127.0.0.1"):
        self.token, self.user = token, user
        self.requests: list[RecordedRequest] = []
        self._repos: dict[tuple[str, str], _Repo] = {}
        self._lfs_objects: dict[str, bytes] = {}
        self._secret = secrets.token_bytes(16)
        self._lock = threading.Lock()
        hub_listener, cdn_listener = (
            _Listener(host, self, self._route_hub),
            _Listener(host, self, self._route_cdn),
        )
        self._listeners = (hub_listener, cdn_listener)
        self.endpoint = f"http://{host}:{hub_listener.server_port}"
        self.cdn_url = f"http://{host}:{cdn_listener.server_port}"

    def start(self) -> LocalHub:
        for listener in self._listeners:
            threading.Thread(
                target=listener.serve_forever, name=f"local-hub-{listener.server_port}", daemon=True
            ).start()
        return self

    def environment(self, home: str | Path) -> dict[str, str]:
        """Variables pointing huggingface_hub, transformers and datasets at this Hub, with all caches in `home`.

        They are read when those libraries are imported: set them before the first import.
        """
        home = Path(home)
        return {
            "HF_ENDPOINT": self.endpoint,
            "HF_TOKEN": self.token,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HOME": str(home),
            "HF_HUB_CACHE": str(home / "hub"),
            "HF_DATASETS_CACHE": str(home / "datasets"),
            "HF_TOKEN_PATH": str(home / "token"),
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_UPDATE_DOWNLOAD_COUNTS": "0",  # otherwise `datasets` sends a HEAD to an S3 URL on every load
        }

    # ---------------------------------------------------------------- plumbing

    def _handle(
        self,
        route: Callable[[_Request], _Response],
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
    ) -> _Response:
        path, _, query = url.partition("?")
        try:
            user = self._authenticate(headers)
            request = _Request(
                method, [part for part in path.split("/") if part], parse_qs(query), headers, body, user
            )
            # Only the response is built under the lock: sending it may block on a slow reader.
            with self._lock:
                response = route(request)
        except _HubError as error:
            response = error.response()
        except (KeyError, TypeError, ValueError) as error:  # includes malformed JSON
            response = _HubError(400, f"Malformed request: {error!r}").response()
        self.requests.append(RecordedRequest(method, path, response.status))
        return response

    def _authenticate(self, headers: dict[str, str]) -> str | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if not token:
            return None
        if scheme.lower() != "bearer" or not hmac.compare_digest(token, self.token):
            raise _HubError(401, INVALID_CREDENTIALS)
        return self.user

    @staticmethod
    def _require_user(request: _Request) -> None:
        if request.user is None:
            raise _HubError(
                401,
                "Authentication required: this request needs a Hub token with write access. "
                "Set HF_TOKEN or pass token=... (sent as `Authorization: Bearer <token>`).",
            )

    def _signature(self, action: str, oid: str) -> str:
        return hmac.new(self._secret, f"{action} {oid}".encode(), hashlib.sha256).hexdigest()

    def _cdn_link(self, action: str, oid: str) -> str:
        return f"{self.cdn_url}/lfs/{oid}?signature={self._signature(action, oid)}"

    def _repo(self, request: _Request, repo_type: str, repo_id: str) -> _Repo:
        repo = self._repos.get((repo_type, repo_id))
        if repo is None or (repo.private and request.user is None):
            # Like the Hub: 401 for anonymous requests, so a missing token and a missing repo look alike.
            status = 401 if request.user is None else 404
            raise _HubError(status, "Repository not found", code="RepoNotFound")
        return repo

    # ---------------------------------------------------------------- routing

    def _route_hub(self, request: _Request) -> _Response:
        match [request.method, *request.parts]:
            case ["GET", "api", "whoami-v2"]:
                self._require_user(request)
                return _json({"type": "user", "name": self.user, "auth": {"accessToken": {"role": "write"}}})
            case ["POST", "api", "repos", "create"]:
                return self._create_repo(request)
            case ["DELETE", "api", "repos", "delete"]:
                return self._delete_repo(request)
            case ["POST", "api", "validate-yaml"]:
                return _json({"errors": [], "warnings": []})
            case [_, "api", ("models" | "datasets") as plural, namespace, name, *rest]:
                repo = self._repo(request, plural.removesuffix("s"), f"{namespace}/{name}")
                return self._route_repo_api(request, repo, rest)
            case [_, "datasets", namespace, name, *rest]:
                return self._route_repo_files(request, "dataset", namespace, name, rest)
            case [_, namespace, name, *rest]:
                return self._route_repo_files(request, "model", namespace, name, rest)
        raise _HubError(
            404, f"Not implemented by the local test Hub: {request.method} /{'/'.join(request.parts)}"
        )

    def _route_repo_api(self, request: _Request, repo: _Repo, rest: list[str]) -> _Response:
        match [request.method, *rest]:
            case ["GET"]:
                return self._repo_info(request, repo, repo.resolve("main"))
            case ["GET", "revision", revision]:
                return self._repo_info(request, repo, repo.resolve(unquote(revision)))
            case ["GET", "tree", revision, *path]:
                return self._tree(request, repo, repo.resolve(unquote(revision)), unquote("/".join(path)))
            case ["POST", "paths-info", revision]:
                return self._paths_info(request, repo, repo.resolve(unquote(revision)))
            case ["GET", "refs"]:
                branches = [
                    {"name": name, "ref": f"refs/heads/{name}", "targetCommit": oid}
                    for name, oid in repo.branches.items()
                ]
                return _json({"branches": branches, "tags": [], "converts": [], "pullRequests": []})
            case ["GET", "commits", revision]:
                return self._commits(repo, repo.resolve(unquote(revision)))
            case ["POST", "branch", branch]:
                return self._create_branch(request, repo, unquote(branch))
            case ["POST", "preupload", revision]:
                return self._preupload(request, repo, repo.resolve(unquote(revision)))
            case ["POST", "commit", revision]:
                return self._commit(request, repo, unquote(revision))
        raise _HubError(404, f"Not implemented by the local test Hub: {request.method} {'/'.join(rest)}")

    def _route_repo_files(
        self, request: _Request, repo_type: str, namespace: str, name: str, rest: list[str]
    ) -> _Response:
        match [request.method, *rest]:
            case ["POST", "info", "lfs", "objects", action] if name.endswith(".git"):
                repo = self._repo(request, repo_type, f"{namespace}/{name.removesuffix('.git')}")
                return self._lfs_batch(request, repo) if action == "batch" else self._lfs_verify(request)
            case ["GET" | "HEAD", "resolve", revision, *path]:
                repo = self._repo(request, repo_type, f"{namespace}/{name}")
                return self._resolve(request, repo, repo.resolve(unquote(revision)), unquote("/".join(path)))
        raise _HubError(404, f"Not implemented by the local test Hub: {request.method} {'/'.join(rest)}")

    def _route_cdn(self, request: _Request) -> _Response:
        match [request.method, *request.parts]:
            case ["PUT", "lfs", oid]:
                self._check_signature(request, "upload", oid)
                if hashlib.sha256(request.body).hexdigest() != oid:
                    raise _HubError(400, f"Uploaded content does not match its sha256 {oid}")
                self._lfs_objects[oid] = request.body
                return _Response(200, headers={"ETag": f'"{oid}"'})
            case ["GET" | "HEAD", "lfs", oid]:
                self._check_signature(request, "download", oid)
                if oid not in self._lfs_objects:
                    raise _HubError(404, f"No LFS object {oid}")
                return _content(request, self._lfs_objects[oid], {"ETag": f'"{oid}"'})
        raise _HubError(404, "Not found")

    def _check_signature(self, request: _Request, action: str, oid: str) -> None:
        signature = request.query.get("signature", [""])[-1]
        if not hmac.compare_digest(signature, self._signature(action, oid)):
            raise _HubError(403, "SignatureDoesNotMatch")

    # ---------------------------------------------------------------- repos

    def _create_repo(self, request: _Request) -> _Response:
        self._require_user(request)
        payload = request.json()
        repo_type = payload.get("type") or "model"
        if repo_type not in ("model", "dataset"):
            raise _HubError(400, f"Repo type {repo_type!r} is not supported by the local test Hub")
        repo_id = f"{payload.get('organization') or self.user}/{payload['name']}"
        repo = _Repo(
            repo_type, repo_id, private=payload.get("private") or payload.get("visibility") == "private"
        )
        url = f"{self.endpoint}/{repo.url_prefix}{repo_id}"
        if (repo_type, repo_id) in self._repos:
            return _json({"error": "You already created this repo", "url": url}, 409)
        oid = repo.next_commit_oid()
        repo.add_commit(
            "main", oid, "initial commit", "", {".gitattributes": _File(GITATTRIBUTES.encode(), False, oid)}
        )
        self._repos[(repo_type, repo_id)] = repo
        return _json({"url": url, "name": repo_id, "id": repo_id})

    def _delete_repo(self, request: _Request) -> _Response:
        self._require_user(request)
        payload = request.json()
        repo = self._repo(
            request,
            payload.get("type") or "model",
            f"{payload.get('organization') or self.user}/{payload['name']}",
        )
        del self._repos[(repo.repo_type, repo.repo_id)]
        return _Response(200)

    def _create_branch(self, request: _Request, repo: _Repo, branch: str) -> _Response:
        self._require_user(request)
        if branch in repo.branches:
            raise _HubError(409, f"Reference refs/heads/{branch} already exists")
        repo.branches[branch] = repo.resolve(request.json().get("startingPoint") or "main").oid
        return _Response(200)

    def _repo_info(self, request: _Request, repo: _Repo, commit: _Commit) -> _Response:
        def sibling(path: str, file: _File) -> dict:
            if not request.flag("blobs"):
                return {"rfilename": path}
            return {
                "rfilename": path,
                "size": len(file.data),
                "blobId": file.git_oid,
                **self._lfs_info(file, "sha256"),
            }

        return _json(
            {
                "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
                "id": repo.repo_id,
                "author": repo.repo_id.split("/")[0],
                "sha": commit.oid,
                "lastModified": commit.date,
                "createdAt": repo.created_at,
                "private": repo.private,
                "gated": False,
                "disabled": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "siblings": [sibling(path, file) for path, file in sorted(commit.files.items())],
            }
        )

    # ---------------------------------------------------------------- trees

    @staticmethod
    def _lfs_info(file: _File, oid_key: str = "oid") -> dict:
        if not file.is_lfs:
            return {}
        return {"lfs": {oid_key: file.sha256, "size": len(file.data), "pointerSize": len(file.lfs_pointer)}}

    def _entry(self, repo: _Repo, commit: _Commit, path: str, expand: bool) -> dict:
        """A `tree` / `paths-info` item for the file or folder at `path` (folders are implied by file paths)."""
        if path in commit.files:
            file = commit.files[path]
            entry = {
                "type": "file",
                "oid": file.git_oid,
                "size": len(file.data),
                "path": path,
                **self._lfs_info(file),
            }
            last_commit = file.last_commit
        else:
            children = {p: f for p, f in commit.files.items() if p.startswith(path + "/")}
            tree = "\n".join(f"{p} {f.git_oid}" for p, f in sorted(children.items()))
            entry = {
                "type": "directory",
                "oid": hashlib.sha1(tree.encode()).hexdigest(),
                "size": 0,
                "path": path,
            }
            last_commit = max(
                (repo.commits[f.last_commit] for f in children.values()), key=lambda c: c.date
            ).oid
        if expand:
            last = repo.commits[last_commit]
            entry["lastCommit"] = {"id": last.oid, "title": last.title, "date": last.date}
        return entry

    def _tree(self, request: _Request, repo: _Repo, commit: _Commit, folder: str) -> _Response:
        prefix = f"{folder}/" if folder else ""
        folders, files = set(), []
        for path in commit.files:
            if not path.startswith(prefix):
                continue
            parts = path[len(prefix) :].split("/")
            depth = len(parts) - 1 if request.flag("recursive") else min(len(parts) - 1, 1)
            folders.update(prefix + "/".join(parts[: i + 1]) for i in range(depth))
            if len(parts) == 1 or request.flag("recursive"):
                files.append(path)
        if folder and not files and not folders:
            raise _HubError(404, f"{folder} does not exist on {commit.oid}", code="EntryNotFound")
        expand = request.flag("expand")
        return _json([self._entry(repo, commit, path, expand) for path in [*sorted(folders), *sorted(files)]])

    def _paths_info(self, request: _Request, repo: _Repo, commit: _Commit) -> _Response:
        form = parse_qs(request.body.decode())
        expand = form.get("expand", ["false"])[-1].lower() == "true"
        paths = [path.strip("/") for path in form.get("paths", [])]
        existing = [
            path
            for path in paths
            if path in commit.files or any(p.startswith(path + "/") for p in commit.files)
        ]
        return _json([self._entry(repo, commit, path, expand) for path in existing])

    def _commits(self, repo: _Repo, commit: _Commit | None) -> _Response:
        history = []
        while commit is not None:
            history.append(
                {
                    "id": commit.oid,
                    "title": commit.title,
                    "message": commit.message,
                    "authors": [{"user": self.user}],
                    "date": commit.date,
                }
            )
            commit = repo.commits.get(commit.parent or "")
        return _json(history)

    # ---------------------------------------------------------------- uploads

    def _preupload(self, request: _Request, repo: _Repo, commit: _Commit) -> _Response:
        self._require_user(request)
        answers = []
        for item in request.json()["files"]:
            path, sample = item["path"], base64.b64decode(item["sample"])
            is_lfs = (
                item["size"] >= LFS_SIZE_THRESHOLD
                or b"\0" in sample
                or any(fnmatch.fnmatch(posixpath.basename(path), pattern) for pattern in LFS_PATTERNS)
            )
            remote = commit.files.get(path)
            remote_oid = None if remote is None else (remote.sha256 if remote.is_lfs else remote.git_oid)
            answers.append(
                {
                    "path": path,
                    "uploadMode": "lfs" if is_lfs else "regular",
                    "shouldIgnore": False,
                    "oid": remote_oid,
                }
            )
        return _json({"files": answers, "commitOid": commit.oid})

    def _lfs_batch(self, request: _Request, repo: _Repo) -> _Response:
        self._require_user(request)
        payload = request.json()
        if payload.get("operation") != "upload" or "basic" not in payload.get("transfers", ["basic"]):
            raise _HubError(400, "The local test Hub only supports LFS uploads with the basic transfer")
        verify = f"{self.endpoint}/{repo.url_prefix}{repo.repo_id}.git/info/lfs/objects/verify"
        objects = []
        for item in payload["objects"]:
            stored = self._lfs_objects.get(item["oid"])
            if stored is not None and len(stored) == item["size"]:
                objects.append({"oid": item["oid"], "size": item["size"]})  # no actions: already uploaded
                continue
            actions = {"upload": {"href": self._cdn_link("upload", item["oid"])}, "verify": {"href": verify}}
            objects.append(
                {"oid": item["oid"], "size": item["size"], "authenticated": True, "actions": actions}
            )
        response = _json({"transfer": "basic", "objects": objects, "hash_algo": "sha256"})
        response.headers["Content-Type"] = "application/vnd.git-lfs+json"
        return response

    def _lfs_verify(self, request: _Request) -> _Response:
        self._require_user(request)
        payload = request.json()
        stored = self._lfs_objects.get(payload["oid"])
        if stored is None or len(stored) != payload["size"]:
            raise _HubError(404, f"LFS object {payload['oid']} of size {payload['size']} was not uploaded")
        return _json({})

    def _commit(self, request: _Request, repo: _Repo, branch: str) -> _Response:
        self._require_user(request)
        if request.flag("create_pr"):
            raise _HubError(400, "Pull requests (create_pr) are not supported by the local test Hub")
        if branch not in repo.branches:
            raise _HubError(
                404, f"Branch {branch!r} does not exist (commits go to branches)", code="RevisionNotFound"
            )
        head = repo.resolve(branch)
        lines = [json.loads(line) for line in request.body.splitlines() if line.strip()]
        header = next(line["value"] for line in lines if line["key"] == "header")
        if header.get("parentCommit") not in (None, head.oid):
            raise _HubError(412, "A commit has happened since. Please refresh and try again.")
        oid = repo.next_commit_oid()
        files = dict(head.files)
        for line in lines:
            key, value = line["key"], line["value"]
            path = value.get("path", "").strip("/")
            match key:
                case "header":
                    continue
                case "file":
                    data = base64.b64decode(value["content"])
                    if len(data) >= LFS_SIZE_THRESHOLD:
                        raise _HubError(400, f"{path} is larger than 10 MiB and must be uploaded through LFS")
                    files[path] = _File(data, is_lfs=False, last_commit=oid)
                case "lfsFile":
                    if value["oid"] not in self._lfs_objects:
                        raise _HubError(400, f"LFS object {value['oid']} for {path} was not uploaded")
                    files[path] = _File(self._lfs_objects[value["oid"]], is_lfs=True, last_commit=oid)
                case "deletedFile" | "deletedFolder":
                    doomed = [
                        p for p in files if p == path or (key == "deletedFolder" and p.startswith(path + "/"))
                    ]
                    if not doomed:
                        raise _HubError(
                            404, f"A file with this name doesn't exist: {path}", code="EntryNotFound"
                        )
                    for doomed_path in doomed:
                        del files[doomed_path]
                case _:
                    raise _HubError(400, f"Unknown commit operation {key!r}")
        commit = repo.add_commit(branch, oid, header["summary"], header.get("description", ""), files)
        commit_url = f"{self.endpoint}/{repo.url_prefix}{repo.repo_id}/commit/{commit.oid}"
        return _json({"success": True, "commitOid": commit.oid, "commitUrl": commit_url, "hookOutput": ""})

    # ---------------------------------------------------------------- downloads

    def _resolve(self, request: _Request, repo: _Repo, commit: _Commit, path: str) -> _Response:
        file = commit.files.get(path)
        if file is None:
            raise _HubError(
                404,
                f"{path} does not exist on {commit.oid}",
                code="EntryNotFound",
                headers={"X-Repo-Commit": commit.oid},
            )
        if file.is_lfs:
            headers = {
                "Location": self._cdn_link("download", file.sha256),
                "ETag": f'"{file.git_oid}"',  # the pointer's: clients must read X-Linked-Etag
                "X-Linked-Etag": f'"{file.sha256}"',
                "X-Linked-Size": str(len(file.data)),
                "X-Repo-Commit": commit.oid,
            }
            return _Response(302, headers=headers)
        return _content(request, file.data, {"ETag": f'"{file.git_oid}"', "X-Repo-Commit": commit.oid})


class _Listener(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, hub: LocalHub, route: Callable[[_Request], _Response]):
        super().__init__((host, 0), _Handler)
        self.hub, self.route = hub, route


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the clients expect; every response sets Content-Length
    server: _Listener

    def _serve(self) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        response = self.server.hub._handle(
            self.server.route, self.command, self.path, headers, self._read_body()
        )
        self.send_response(response.status)
        for name, value in {**response.headers, "Content-Length": str(len(response.body))}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _serve

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0], 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline().strip():  # trailers
            pass
        return b"".join(chunks)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: requests are recorded in `LocalHub.requests`."""
