"""A shared, content-addressed cache of stage results, reached through fsspec.

Two stores under one URL, as in Bazel's remote cache and DVC's run-cache:

- ``cas/<sha[:2]>/<sha256>``: file contents, named by their digest;
- ``ac/<key[:2]>/<key>.json``: one record per stage key, listing every file the
  stage produced (path relative to the build directory, sha256, size) and what the
  manifest records about the run (info, notes, seconds).

A push uploads the blobs first and the record last, each under a temporary name
that is then renamed (atomic on a file system; an S3 put is atomic by itself), so a
reader sees either a whole entry or none, and two runners pushing the same key write
the same bytes. A pull verifies every downloaded file against the digest in the
record: a missing blob, a wrong digest or a malformed record is a miss (with a
warning), never a wrong hit, and the stage then runs as if there were no cache.

fsspec is imported only when a stage actually needs the cache, so a fully cached
rebuild with ``--cache`` stays as cheap as one without.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from pipeline_runner.engine.cache import file_sha256

FORMAT = 1
ENV_URL = "PIPELINE_RUNNER_CACHE"
ENV_MODE = "PIPELINE_RUNNER_CACHE_MODE"
MODES = ("read-write", "read-only")


class CacheMiss(Exception):
    """The entry is absent, incomplete or corrupt; the message says which."""


@dataclass
class PulledEntry:
    files: list[str]  # relative to the build directory, written into the work folder
    artifacts: list[str]  # the stage's declared artifacts (files or directories)
    record: dict  # info, notes, seconds of the run that pushed it


def artifact_files(root: Path, artifacts: list[str]) -> list[str]:
    """Every file of the artifacts (a directory artifact contributes each file below it)."""
    files = []
    for rel in artifacts:
        path = root / rel
        if path.is_dir():
            files += sorted(p.relative_to(root).as_posix() for p in path.rglob("*") if p.is_file())
        else:
            files.append(rel)
    return files


class RemoteCache:
    """``url`` is anything fsspec opens: a directory (``/srv/cache``, ``file://...``), ``s3://bucket/prefix``…

    Options for the file system come from fsspec's own configuration, e.g.
    the usual AWS variables (``AWS_ENDPOINT_URL`` for an S3-compatible server such as MinIO).
    """

    def __init__(self, url: str, read_only: bool = False):
        self.url = url.rstrip("/")
        self.read_only = read_only
        self._fs = None
        self._root = ""

    @classmethod
    def from_options(cls, url: str | None, mode: str | None) -> "RemoteCache | None":
        url = url or os.environ.get(ENV_URL) or None
        mode = mode or os.environ.get(ENV_MODE) or "read-write"
        if mode not in MODES:
            raise ValueError(f"cache mode {mode!r}: expected one of {', '.join(MODES)}")
        return cls(url, read_only=mode == "read-only") if url else None

    def __str__(self) -> str:
        return self.url + (" (read-only)" if self.read_only else "")

    # -- the file system, opened on first use ---------------------------------------------------
    @property
    def fs(self):
        if self._fs is None:
            from fsspec.core import url_to_fs

            self._fs, self._root = url_to_fs(self.url)
            self._root = self._root.rstrip("/")
        return self._fs

    def _path(self, *parts: str) -> str:
        self.fs  # noqa: B018 - opens the file system and sets the root
        return "/".join((self._root, *parts))

    def _record_path(self, key: str) -> str:
        return self._path("ac", key[:2], f"{key}.json")

    def _blob_path(self, digest: str) -> str:
        return self._path("cas", digest[:2], digest)

    # -- lookups ---------------------------------------------------------------------------------
    def has(self, key: str) -> bool:
        """Whether an entry is recorded for ``key`` (its blobs are checked only on pull)."""
        return self.fs.exists(self._record_path(key))

    def entry(self, key: str) -> dict:
        """The entry recorded for ``key`` (files and the stage's record), without its blobs; CacheMiss if none."""
        return self._read_record(key)

    def _read_record(self, key: str) -> dict:
        path = self._record_path(key)
        try:
            raw = self.fs.cat_file(path)
        except FileNotFoundError:
            raise CacheMiss("no entry") from None
        try:
            entry = json.loads(raw)
            if entry.get("format") != FORMAT or entry.get("key") != key:
                raise ValueError("format or key does not match")
            files = entry["files"]
            if not isinstance(files, dict) or not all(
                isinstance(v, dict) and isinstance(v.get("sha256"), str) for v in files.values()
            ):
                raise ValueError("file list malformed")
            for rel in files:
                if rel.startswith("/") or ".." in Path(rel).parts:
                    raise ValueError(f"unsafe path {rel!r}")
            return entry
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CacheMiss(f"corrupt entry ({exc})") from None

    def pull(self, key: str, dest: Path) -> PulledEntry:
        """Download the entry for ``key`` into ``dest`` (a fresh work folder), verifying every file."""
        entry = self._read_record(key)
        for rel, meta in entry["files"].items():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            h = hashlib.sha256()
            try:
                with self.fs.open(self._blob_path(meta["sha256"]), "rb") as src, open(target, "wb") as out:
                    for chunk in iter(lambda: src.read(1 << 20), b""):
                        h.update(chunk)
                        out.write(chunk)
            except FileNotFoundError:
                raise CacheMiss(f"blob of {rel} missing") from None
            if h.hexdigest() != meta["sha256"]:
                self._evict(self._blob_path(meta["sha256"]))
                raise CacheMiss(f"{rel}: content does not match its sha256 (corrupt or tampered entry)")
        artifacts = entry.get("artifacts") or sorted(entry["files"])
        return PulledEntry(files=sorted(entry["files"]), artifacts=list(artifacts), record=entry.get("record", {}))

    def _evict(self, path: str) -> None:
        """Drop a corrupt blob so that the next push of that content uploads it again."""
        if self.read_only:
            return
        try:
            self.fs.rm(path)
        except OSError:
            pass  # gone already, or not ours to delete: the next reader verifies again

    # -- pushes ----------------------------------------------------------------------------------
    def _put_atomic(self, local: Path | None, data: bytes | None, final: str) -> None:
        tmp = f"{final}.tmp-{uuid.uuid4().hex}"
        self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
        if local is not None:
            self.fs.put_file(str(local), tmp)
        else:
            self.fs.pipe_file(tmp, data)
        try:
            self.fs.mv(tmp, final)
        except Exception:
            self.fs.rm(tmp)
            raise

    def push(self, key: str, stage: str, build_dir: Path, artifacts: list[str], record: dict) -> int:
        """Upload a finished stage's artifacts and its record; returns the bytes uploaded."""
        if self.read_only:
            return 0
        files, uploaded = {}, 0
        for rel in artifact_files(build_dir, artifacts):
            path = build_dir / rel
            digest = file_sha256(path)
            files[rel] = {"sha256": digest, "size": path.stat().st_size}
            blob = self._blob_path(digest)
            if not self.fs.exists(blob):  # content-addressed: an existing blob is the same bytes
                self._put_atomic(path, None, blob)
                uploaded += files[rel]["size"]
        entry = {"format": FORMAT, "key": key, "stage": stage, "artifacts": artifacts,
                 "files": files, "record": record}
        self._put_atomic(None, json.dumps(entry, indent=1, sort_keys=True).encode(), self._record_path(key))
        return uploaded
