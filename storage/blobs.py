"""Content-addressed, write-once blob storage for tile bytes.

One backend today, files under a directory (`BLOB_URL=file:///path`, default the data
directory); the S3 backend joins it behind the same methods when it lands.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from pathlib import Path

__all__ = ["LocalBlobStore", "is_blob_key"]

_KEY = re.compile(r"^[0-9a-f]{64}$")


def is_blob_key(key: str) -> bool:
    """A blob key is the lowercase hex sha256 of its bytes."""
    return bool(_KEY.match(key))


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    async def __aenter__(self) -> "LocalBlobStore":
        self.root.mkdir(parents=True, exist_ok=True)
        return self

    async def __aexit__(self, *exc_info) -> None:
        return None

    def _path(self, key: str) -> Path:
        if not is_blob_key(key):
            raise RuntimeError(f"not a blob key: {key!r}")
        # Two levels of fan-out keep directories small on big canvases.
        return self.root / key[:2] / f"{key}.png"

    async def put(self, data: bytes) -> str:
        """Stores the bytes under their sha256 and returns it; an existing blob is left alone."""
        key = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(self._write_once, key, data)
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
