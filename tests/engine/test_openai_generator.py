"""OpenAIGenerator end to end, through the real SDK and HTTP, against a local fake of the
images-edit endpoint served by uvicorn on a real port."""

from __future__ import annotations

import asyncio
import base64
import io
import socket
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser

import numpy as np
import pytest
import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine import (
    GeneratorBadOutput,
    GeneratorError,
    GeneratorFailure,
    GeneratorRefused,
    GeneratorTimeout,
    OpenAIGenerator,
    build_context,
    decode_png,
)

T = 256
# The deadline of the one test that waits for it; the others get room for a slow machine.
DEADLINE = 0.5
ROOMY_DEADLINE = 30.0
PAINT = (10, 200, 120)


def _png(width: int, height: int, colour=PAINT) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _images(b64: str) -> dict:
    return {"created": 1700000000, "data": [{"b64_json": b64}]}


def _api_error(status: int, code: str | None, message: str) -> JSONResponse:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}
    return JSONResponse(body, status_code=status)


def _form(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Parse multipart/form-data with the stdlib: {field: (filename, bytes)}."""
    message = BytesParser(policy=policy.HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    return {
        part.get_param("name", header="content-disposition"): (part.get_filename(), part.get_payload(decode=True))
        for part in message.iter_parts()
    }


@dataclass
class FakeImagesAPI:
    """What the fake answers next, and every request it saw."""

    mode: str = "ok"
    requests: list[dict] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def edits(self, request: Request) -> Response:
        self.requests.append(_form(request.headers["content-type"], await request.body()))
        if self.mode == "slow":
            await self.release.wait()  # held until the test ends; the client gives up first
        answers = {
            "ok": lambda: JSONResponse(_images(base64.b64encode(_png(1024, 1024)).decode())),
            "slow": lambda: JSONResponse(_images(base64.b64encode(_png(1024, 1024)).decode())),
            "refuse": lambda: _api_error(400, "moderation_blocked", "Your request was rejected by the safety system."),
            "bad_request": lambda: _api_error(400, "invalid_value", "Invalid size."),
            "server_error": lambda: _api_error(500, None, "The server had an error."),
            "garbage": lambda: JSONResponse(_images(base64.b64encode(b"definitely not a png").decode())),
            "not_base64": lambda: JSONResponse(_images("%%% not base64 %%%")),
            "wrong_aspect": lambda: JSONResponse(_images(base64.b64encode(_png(1024, 512)).decode())),
            "wrong_size": lambda: JSONResponse(_images(base64.b64encode(_png(512, 512)).decode())),
            "url_only": lambda: JSONResponse({"created": 0, "data": [{"url": "https://example.invalid/x.png"}]}),
            "html": lambda: Response("<html>gateway</html>", status_code=502, media_type="text/html"),
        }
        return answers[self.mode]()


@pytest.fixture(scope="module")
async def fake_api():
    fake = FakeImagesAPI()
    app = Starlette(routes=[Route("/v1/images/edits", fake.edits, methods=["POST"])])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()  # connections queue here until uvicorn accepts them: no start-up race
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield fake, f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        fake.release.set()
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def _generator(fake_api, timeout: float):
    fake, base_url = fake_api
    fake.mode = "ok"
    fake.requests.clear()
    generator = OpenAIGenerator("sk-test", model="gpt-image-1", base_url=base_url, timeout=timeout)
    try:
        yield fake, generator
    finally:
        await generator.aclose()


@pytest.fixture
async def api(fake_api):
    async with _generator(fake_api, ROOMY_DEADLINE) as pair:
        yield pair


@pytest.fixture
async def impatient_api(fake_api):
    async with _generator(fake_api, DEADLINE) as pair:
        yield pair


def _context(tile_size: int = T) -> np.ndarray:
    left = np.zeros((tile_size, tile_size, 4), np.uint8)
    left[...] = (200, 30, 30, 255)
    return build_context({(0, 0): left}, (1, 0), tile_size)


@pytest.mark.parametrize("tile_size", [256, 512, 1024])
async def test_success_returns_the_painted_window_at_context_size(api, tile_size):
    _fake, generator = api
    progress = []

    async def on_progress(fraction, preview):
        progress.append(fraction)

    image = await generator.generate(_context(tile_size), "a red barn", seed=3, on_progress=on_progress)
    assert image.shape == (2 * tile_size, 2 * tile_size, 4) and image.dtype == np.uint8
    assert (image[..., 3] == 255).all()
    assert np.abs(image[..., :3].astype(int) - PAINT).max() <= 1
    assert progress == [1.0]


async def test_request_carries_model_prompt_size_image_and_mask(api):
    fake, generator = api
    await generator.generate(_context(), "a red barn", seed=3)
    (form,) = fake.requests
    assert form["model"][1] == b"gpt-image-1"
    assert form["prompt"][1] == b"a red barn"
    assert form["size"][1] == b"1024x1024"
    image_field = next(name for name in form if name.startswith("image"))
    for name in (image_field, "mask"):
        filename, data = form[name]
        assert filename.endswith(".png")
        sent = decode_png(data)
        assert sent.shape == (1024, 1024, 4)
        # The mask convention: transparent where to paint (the target), opaque over the neighbour.
        assert sent[512, 512, 3] == 0 and sent[512, 100, 3] == 255
        assert np.abs(sent[512, 100, :3].astype(int) - (200, 30, 30)).max() <= 2


async def _failure_for(api, mode: str) -> GeneratorFailure:
    fake, generator = api
    fake.mode = mode
    with pytest.raises(GeneratorFailure) as caught:
        await generator.generate(_context(), "a barn", seed=1)
    assert len(fake.requests) == 1  # no SDK retries: the server decides those
    return caught.value


async def test_content_policy_refusal_is_generator_refused(api):
    failure = await _failure_for(api, "refuse")
    assert isinstance(failure, GeneratorRefused) and failure.reason == "refused"


@pytest.mark.parametrize("mode", ["server_error", "bad_request", "html"])
async def test_api_failures_are_generator_errors(api, mode):
    failure = await _failure_for(api, mode)
    assert type(failure) is GeneratorError and failure.reason == "generator_error"


async def test_a_response_slower_than_the_deadline_is_a_timeout(impatient_api):
    loop = asyncio.get_running_loop()
    started = loop.time()
    failure = await _failure_for(impatient_api, "slow")
    assert isinstance(failure, GeneratorTimeout) and failure.reason == "timeout"
    assert loop.time() - started < DEADLINE + 1.0


@pytest.mark.parametrize("mode", ["garbage", "not_base64", "wrong_aspect", "wrong_size", "url_only"])
async def test_unusable_images_are_bad_output(api, mode):
    failure = await _failure_for(api, mode)
    assert isinstance(failure, GeneratorBadOutput) and failure.reason == "bad_output"


async def test_unreachable_api_is_a_generator_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        generator = OpenAIGenerator("sk-test", base_url=f"http://127.0.0.1:{port}/v1", timeout=DEADLINE)
        try:
            with pytest.raises(GeneratorError):
                await generator.generate(_context(), "a barn", seed=1)
        finally:
            await generator.aclose()
