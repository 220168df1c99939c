"""The S3 blob store against a real S3-compatible server: moto's server mode on loopback, configured
through the same AWS_* variables a deployment sets."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import timedelta
from pathlib import Path

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from storage import BlobStoreError, LocalBlobStore, open_blob_store
from storage.s3blobs import S3BlobStore

TILE = b"\x89PNG\r\n\x1a\n tile bytes"
TILE_KEY = hashlib.sha256(TILE).hexdigest()


def _start_server() -> tuple[ThreadedMotoServer, str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def _client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _new_bucket(endpoint: str) -> str:
    name = f"blobs-{uuid.uuid4().hex[:12]}"
    _client(endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def endpoint() -> str:
    server, url = _start_server()
    yield url
    server.stop()


@pytest.fixture
def s3_env(monkeypatch, endpoint) -> str:
    """Points the AWS_* variables at the local server, as a deployment's environment would."""
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    return endpoint


@pytest.fixture
def bucket(s3_env) -> str:
    return _new_bucket(s3_env)


@pytest.fixture
async def store(bucket, tmp_path):
    async with open_blob_store(f"s3://{bucket}/tiles/v1", tmp_path) as opened:
        yield opened


async def test_put_stores_the_blob_under_its_sha256_below_the_prefix(store, bucket, endpoint):
    assert await store.put(TILE) == TILE_KEY
    stored = _client(endpoint).get_object(Bucket=bucket, Key=f"tiles/v1/{TILE_KEY[:2]}/{TILE_KEY}.png")
    assert stored["Body"].read() == TILE
    assert stored["ContentType"] == "image/png"
    assert await store.get(TILE_KEY) == TILE


async def test_second_put_of_the_same_key_leaves_the_object_alone(store, bucket, endpoint):
    await store.put(TILE)
    # Swap the object's bytes behind the store's back: if the second put wrote, they would be gone.
    object_key = f"tiles/v1/{TILE_KEY[:2]}/{TILE_KEY}.png"
    _client(endpoint).put_object(Bucket=bucket, Key=object_key, Body=b"marker")
    assert await store.put(TILE) == TILE_KEY
    assert await store.get(TILE_KEY) == b"marker"


async def test_missing_or_malformed_keys_read_as_none(store):
    assert await store.get("0" * 64) is None
    assert await store.get("../../etc/passwd") is None
    assert await store.get(TILE_KEY.upper()) is None


async def test_check_passes_against_a_writable_bucket(store):
    await store.check()


async def test_check_and_put_fail_when_the_bucket_does_not_exist(s3_env):
    async with S3BlobStore("no-such-bucket", "tiles") as missing:
        with pytest.raises(BlobStoreError, match="S3 check"):
            await missing.check()
        with pytest.raises(BlobStoreError, match="S3 put"):
            await missing.put(TILE)


async def test_check_fails_when_the_server_is_down(monkeypatch, s3_env):
    server, url = _start_server()
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    try:
        doomed = S3BlobStore(_new_bucket(url))
        await doomed.check()
    finally:
        server.stop()
    started = time.monotonic()
    with pytest.raises(BlobStoreError, match="S3 check") as raised:
        await doomed.check()
    assert isinstance(raised.value, OSError)  # one `except OSError` covers disk and bucket
    assert time.monotonic() - started < 5  # bounded retries, not obstore's three-minute default


async def test_the_s3_specific_endpoint_and_default_region_are_honoured(monkeypatch, bucket, endpoint):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens on discard
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    async with S3BlobStore(bucket) as configured:
        assert await configured.put(TILE) == TILE_KEY
        assert await configured.get(TILE_KEY) == TILE


async def test_presigned_url_serves_the_blob(store):
    key = await store.put(TILE)
    url = await store.url(key, timedelta(minutes=5))
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 200
    assert response.content == TILE


def test_open_blob_store_without_url_uses_the_default_directory(tmp_path):
    opened = open_blob_store(None, tmp_path / "blobs")
    assert isinstance(opened, LocalBlobStore) and opened.root == tmp_path / "blobs"


def test_open_blob_store_reads_a_file_url_as_a_directory(tmp_path):
    opened = open_blob_store(f"file://{tmp_path}/shared", Path("/unused"))
    assert isinstance(opened, LocalBlobStore) and opened.root == tmp_path / "shared"


def test_open_blob_store_reads_an_s3_url_as_bucket_and_prefix(s3_env):
    opened = open_blob_store("s3://my-bucket/tiles/v1/", Path("/unused"))
    assert isinstance(opened, S3BlobStore)
    assert (opened.bucket, opened.prefix) == ("my-bucket", "tiles/v1")


@pytest.mark.parametrize("url", ["ftp://host/blobs", "s3://", "s3:///prefix-only", "file://", "blobs"])
def test_open_blob_store_rejects_other_urls(url):
    with pytest.raises(ValueError, match="BLOB_URL"):
        open_blob_store(url, Path("/unused"))


async def test_a_room_played_with_blobs_on_s3_serves_tiles_from_the_bucket(bucket, database_url, tmp_path):
    from tests.conftest import make_settings, running_app
    from tests.play import new_player, open_room, start, step_and_settle

    settings = make_settings(database_url, tmp_path, blob_url=f"s3://{bucket}/tiles")
    async with running_app(settings) as client:
        assert (await client.get("/readyz")).json()["checks"]["blobs"] == "ok"
        host, _ = await new_player(client)
        room = await start(host, await open_room(host))
        step = await step_and_settle(host, room["id"])
        assert step["status"] == "committed"
        served = await client.get(step["tile"]["url"])
        sha = step["tile"]["url"].removeprefix("/blobs/").removesuffix(".png")
        assert served.status_code == 200 and hashlib.sha256(served.content).hexdigest() == sha
        assert not (tmp_path / "blobs").exists()  # nothing was written locally
