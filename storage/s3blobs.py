"""Blobs in an S3-compatible bucket (`BLOB_URL=s3://bucket/prefix`): AWS S3, Cloudflare R2, MinIO.

Same contract as the local store: a blob lives at `<prefix>/<sha[:2]>/<sha>.png`, is written once
and never changed, and a missing key reads as None. Endpoint, credentials and region come from the
usual variables, which obstore reads itself: `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`,
`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` or
`AWS_DEFAULT_REGION` (`auto` for R2). An `http://` endpoint (MinIO, moto) is allowed as such.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import AlreadyExistsError, BaseError
from obstore.store import S3Store

from storage.blobs import CHUNK_BYTES, BlobStoreError, blob_key, blob_path, is_blob_key, key_of_path

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig

__all__ = ["S3BlobStore"]

_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT")
# Bounded so a dead endpoint fails a step or a readiness check in seconds, not obstore's default
# of ten retries over three minutes.
_CLIENT_OPTIONS: ClientConfig = {"connect_timeout": "2s", "timeout": "20s"}
_RETRY: RetryConfig = {"max_retries": 3, "retry_timeout": timedelta(seconds=10)}
# Content-addressed, so a blob's bytes at a URL never change: caches may keep them for good.
_ATTRIBUTES = {"Content-Type": "image/png", "Cache-Control": "public, max-age=31536000, immutable"}
_PROBE = ".probe"


@contextmanager
def _mapped(action: str, path: str) -> Iterator[None]:
    """The one place obstore's failures become ours (a missing object and an existing one are
    outcomes, not failures, and the methods read them where they expect them)."""
    try:
        yield
    except (BaseError, OSError) as exc:  # obstore raises builtin FileNotFoundError for a 404
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BlobStoreError(f"S3 {action} of {path!r} failed: {first_line}") from exc


class S3BlobStore:
    def __init__(self, bucket: str, prefix: str = "") -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        endpoint = next((os.environ[name] for name in _ENDPOINT_VARIABLES if os.environ.get(name)), "")
        client_options: ClientConfig = {**_CLIENT_OPTIONS, "allow_http": endpoint.startswith("http://")}
        # obstore reads the AWS_* variables itself; a bad value fails here, at start-up.
        self._store = S3Store(bucket, prefix=self.prefix or None, client_options=client_options, retry_config=_RETRY)

    @classmethod
    def from_url(cls, url: str) -> S3BlobStore:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
            raise ValueError(f"BLOB_URL {url!r} is not of the form s3://bucket/prefix")
        return cls(parts.netloc, parts.path)

    async def __aenter__(self) -> S3BlobStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None  # obstore holds no connection that needs closing

    async def put(self, data: bytes) -> str:
        """Stores the bytes under their sha256 and returns it; an existing blob is left alone."""
        key = await asyncio.to_thread(blob_key, data)  # hashing megabytes stays off the event loop
        path = blob_path(key)
        with _mapped("put", path):
            # If-None-Match: *, so the bucket itself refuses a second write. A store that ignores
            # the condition overwrites the object with the same bytes (same key, same bytes),
            # which no reader can tell apart, so write-once holds either way.
            with contextlib.suppress(AlreadyExistsError):
                await obstore.put_async(self._store, path, data, mode="create", attributes=_ATTRIBUTES)
        return key

    async def get(self, key: str) -> bytes | None:
        found = await self._fetch(key)
        if found is None:
            return None
        result, path = found
        with _mapped("get", path):
            return bytes(await result.bytes_async())

    async def open(self, key: str) -> AsyncIterator[bytes] | None:
        found = await self._fetch(key)
        return None if found is None else self._chunks(*found)

    async def _fetch(self, key: str) -> tuple[obstore.GetResult, str] | None:
        """The object's pending read and its path; None for a key that is not a blob's or is absent."""
        if not is_blob_key(key):
            return None
        path = blob_path(key)
        with _mapped("get", path):
            try:
                return await obstore.get_async(self._store, path), path
            except FileNotFoundError:
                return None

    @staticmethod
    async def _chunks(result: obstore.GetResult, path: str) -> AsyncIterator[bytes]:
        with _mapped("get", path):
            async for chunk in result.stream(min_chunk_size=CHUNK_BYTES):
                yield bytes(chunk)

    async def delete(self, key: str) -> None:
        path = blob_path(key)
        with _mapped("delete", path):
            await obstore.delete_async(self._store, path)

    async def scan(self) -> AsyncIterator[tuple[str, datetime]]:
        with _mapped("list", self.prefix or "/"):
            async for batch in obstore.list(self._store):  # pages of objects below the prefix
                for meta in batch:
                    key = key_of_path(meta["path"])
                    if key is not None:
                        yield key, meta["last_modified"]

    async def check(self) -> None:
        """Raises unless the bucket accepts writes: one small PUT, which also fails for a bucket
        that does not exist (a HEAD or GET would read that as a missing object)."""
        with _mapped("check", _PROBE):
            await obstore.put_async(self._store, _PROBE, b"")

    async def url(self, key: str, expires: timedelta = timedelta(minutes=15)) -> str:
        """A presigned GET URL for the blob, for redirecting a client to the bucket."""
        path = blob_path(key)
        with _mapped("sign", path):
            return await obstore.sign_async(self._store, "GET", path, expires)
