"""Content-addressed, write-once blob storage for tile bytes.

Two backends behind one interface, chosen by URL (`BLOB_URL`) as the event bus is: files under a
directory (no URL, the data directory; or `file:///path`, e.g. a disk shared by instances) and an
S3-compatible bucket (`s3://bucket/prefix`; S3, R2, MinIO), in `storage/s3blobs.py`. Both keep a
blob at `<sha[:2]>/<sha>.png` under their root, never change it once written, and read a missing
or malformed key as None.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

__all__ = ["BlobStore", "BlobStoreError", "LocalBlobStore", "is_blob_key", "open_blob_store"]

_KEY = re.compile(r"^[0-9a-f]{64}$")


def is_blob_key(key: str) -> bool:
    """A blob key is the lowercase hex sha256 of its bytes."""
    return bool(_KEY.match(key))


def blob_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def blob_path(key: str) -> str:
    """Where a blob lives below a store's root; two levels of fan-out keep directories small."""
    if not is_blob_key(key):
        raise RuntimeError(f"not a blob key: {key!r}")
    return f"{key[:2]}/{key}.png"


class BlobStoreError(OSError):
    """A remote backend failed (unreachable, no such bucket, access denied); the cause is chained.
    An OSError, so one `except OSError` covers a failing disk and a failing bucket alike."""


class BlobStore(Protocol):
    async def __aenter__(self) -> BlobStore: ...
    async def __aexit__(self, *exc_info: object) -> None: ...
    async def put(self, data: bytes) -> str: ...
    async def get(self, key: str) -> bytes | None: ...
    async def check(self) -> None: ...


def open_blob_store(blob_url: str | None, default_dir: Path) -> BlobStore:
    """No URL: files under `default_dir`; `file:///path`: files under /path; `s3://bucket/prefix`:
    that bucket, with the endpoint and credentials from the usual AWS_* variables."""
    if not blob_url:
        return LocalBlobStore(default_dir)
    if blob_url.startswith("file://"):
        # Parsed as Settings.blob_dir parses it, so the store and the production check agree.
        path = blob_url.removeprefix("file://")
        if not path:
            raise ValueError(f"BLOB_URL {blob_url!r} names no directory; use file:///absolute/path")
        return LocalBlobStore(Path(path))
    if blob_url.startswith("s3://"):
        from storage.s3blobs import S3BlobStore  # the S3 client loads only when a bucket is used

        return S3BlobStore.from_url(blob_url)
    raise ValueError(f"BLOB_URL {blob_url!r} is not supported; use file:///path or s3://bucket/prefix")


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    async def __aenter__(self) -> LocalBlobStore:
        self.root.mkdir(parents=True, exist_ok=True)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    def _path(self, key: str) -> Path:
        return self.root / blob_path(key)

    async def put(self, data: bytes) -> str:
        """Stores the bytes under their sha256 and returns it; an existing blob is left alone."""
        return await asyncio.to_thread(self._put, data)

    def _put(self, data: bytes) -> str:
        # Hashing megabytes and writing them both happen off the event loop.
        key = blob_key(data)
        self._write_once(key, data)
        return key

    def _write_once(self, key: str, data: bytes) -> None:
        final = self._path(key)
        if final.exists():
            return
        final.parent.mkdir(parents=True, exist_ok=True)
        # Temp file + fsync + rename: a reader sees the whole blob or none of it, even after a crash.
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes | None:
        if not is_blob_key(key):
            return None
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError:
            return None

    async def check(self) -> None:
        """Raises unless the store accepts writes."""
        await asyncio.to_thread(self._probe)

    def _probe(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-"):
            pass
