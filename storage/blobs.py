"""Content-addressed, write-once blob storage for tile bytes.

Two backends behind one interface, chosen by URL (`BLOB_URL`) as the event bus is: files under a
directory (no URL, the data directory; or `file:///path`, e.g. a disk shared by instances) and an
S3-compatible bucket (`s3://bucket/prefix`; S3, R2, MinIO), in `storage/s3blobs.py`. Both keep a
blob at `<sha[:2]>/<sha>.png` under their root, never change it once written, and read a missing
or malformed key as None. Blobs nothing refers to any more are deleted by the retention job
(storage/retention.py says which are referenced; `scan()` says which exist and since when).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

__all__ = ["BlobStore", "BlobStoreError", "LocalBlobStore", "is_blob_key", "open_blob_store", "CHUNK_BYTES"]

_KEY = re.compile(r"^[0-9a-f]{64}$")
_STORED = re.compile(r"^([0-9a-f]{2})/(\1[0-9a-f]{62})\.png$")
# What open() yields at a time: a reader holds this much of a blob, not the whole of it.
CHUNK_BYTES = 256 * 1024


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


def key_of_path(path: str) -> str | None:
    """The blob key stored at `path` below a store's root; None for anything else there."""
    match = _STORED.match(path)
    return match.group(2) if match else None


class BlobStoreError(OSError):
    """A remote backend failed (unreachable, no such bucket, access denied); the cause is chained.
    An OSError, so one `except OSError` covers a failing disk and a failing bucket alike."""


class BlobStore(Protocol):
    async def __aenter__(self) -> BlobStore: ...
    async def __aexit__(self, *exc_info: object) -> None: ...
    async def put(self, data: bytes) -> str: ...
    async def get(self, key: str) -> bytes | None: ...
    async def open(self, key: str) -> AsyncIterator[bytes] | None:
        """The blob's bytes in chunks of about CHUNK_BYTES, for answers that must not hold a
        large blob whole; None when it is missing."""
        ...

    async def delete(self, key: str) -> None:
        """Removes the blob (a missing one is not an error). Only the retention job may."""
        ...

    def scan(self) -> AsyncIterator[tuple[str, datetime]]:
        """Every stored blob's key and when it was written (UTC), in no particular order."""
        ...

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

    async def open(self, key: str) -> AsyncIterator[bytes] | None:
        if not is_blob_key(key):
            return None
        try:
            handle = await asyncio.to_thread(self._path(key).open, "rb")
        except FileNotFoundError:
            return None
        return _chunks(handle)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def scan(self) -> AsyncIterator[tuple[str, datetime]]:
        fans = await asyncio.to_thread(_fan_out_dirs, self.root)
        for fan in fans:  # one directory at a time, so a large store is never listed whole
            for found in await asyncio.to_thread(_blobs_in, fan):
                yield found

    async def check(self) -> None:
        """Raises unless the store accepts writes."""
        await asyncio.to_thread(self._probe)

    def _probe(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-"):
            pass


async def _chunks(handle: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
            yield chunk
    finally:
        handle.close()


def _fan_out_dirs(root: Path) -> list[Path]:
    try:
        return [entry for entry in root.iterdir() if entry.is_dir() and len(entry.name) == 2]
    except FileNotFoundError:
        return []


def _blobs_in(fan: Path) -> list[tuple[str, datetime]]:
    found = []
    with os.scandir(fan) as entries:
        for entry in entries:
            key = key_of_path(f"{fan.name}/{entry.name}")
            if key is not None:
                with contextlib.suppress(FileNotFoundError):  # deleted since it was listed
                    found.append((key, datetime.fromtimestamp(entry.stat().st_mtime, UTC)))
    return found
