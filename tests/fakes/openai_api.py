"""A local fake of the part of OpenAI's API the app calls, on a real port, reached by the official
`openai` library through OPENAI_BASE_URL (`{url}/v1`).

- `POST /v1/images/edits`: multipart with `image` and `mask` files; with `stream=true` an SSE
  stream of `image_edit.partial_image` events (as many as `partial_images`) and one
  `image_edit.completed`, shaped as the SDK's types/image_edit_*_event.py. The painted image keeps
  the sent image where the mask is opaque and is PAINT elsewhere, at the requested `size`.
- `GET /v1/models/{id}`: the models in `models` (id -> shutdown date or None), else 404.
- `POST /v1/moderations`: flagged when the input contains one of `flagged_words`.

What an edit answers is scripted: `script` holds one mode per coming request (an empty script
answers "ok"); see EDIT_MODES. Every request is recorded in `edits` / `moderations`.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser

import numpy as np
import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

API_KEY = "sk-test-fake"
MODEL = "gpt-image-2.5-flare"
PAINT = (10, 200, 120)
EDIT_MODES = (
    "ok",  # partial images, then the completed image
    "refuse",  # 400 moderation_blocked
    "bad_request",  # 400 invalid_value
    "no_model",  # 404 model_not_found
    "rate_limited",  # 429 with Retry-After: `retry_after`
    "quota",  # 429 insufficient_quota
    "server_error",  # 500 with Retry-After: `retry_after`
    "stall",  # one partial image, then nothing until the client gives up
    "cut",  # partial images, then the stream ends without an image
    "garbage",  # a completed event whose image is not an image
    "not_base64",  # a completed event whose b64_json is not base64
    "wrong_size",  # a completed image of half the requested size
    "transparent",  # a completed image transparent where it was asked to paint
)


@dataclass
class Edit:
    """One images-edit request as the fake received it."""

    fields: dict[str, str]
    files: dict[str, tuple[str | None, bytes]]
    authorization: str | None
    arrived: float  # the event loop's clock

    def png(self, name: str) -> np.ndarray:
        """A sent file decoded to (H, W, 4) uint8 RGBA."""
        with Image.open(io.BytesIO(self.files[name][1])) as image:
            return np.asarray(image.convert("RGBA"))

    def mode_of(self, name: str) -> str:
        with Image.open(io.BytesIO(self.files[name][1])) as image:
            return image.mode


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str | None, bytes]]]:
    message = BytesParser(policy=policy.HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields, files = {}, {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if part.get_filename() is None:
            fields[name] = payload.decode()
        else:
            files[name] = (part.get_filename(), payload)
    return fields, files


def _error(status: int, code: str | None, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def _png(rgba: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG", compress_level=1)
    return base64.b64encode(buffer.getvalue()).decode()


def _sse(event: dict) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


class FakeOpenAI:
    def __init__(self) -> None:
        self.script: list[str] = []
        self.retry_after = "0"
        self.models: dict[str, str | None] = {MODEL: None, "gpt-image-1": "2026-10-23"}
        self.flagged_words: tuple[str, ...] = ("forbidden",)
        self.edits: list[Edit] = []
        self.moderations: list[str] = []
        self.model_checks = 0
        self.release = asyncio.Event()  # ends every stalled stream (at exit)
        app = Starlette(
            routes=[
                Route("/v1/images/edits", self._edit, methods=["POST"]),
                Route("/v1/models/{model_id:path}", self._model, methods=["GET"]),
                Route("/v1/moderations", self._moderate, methods=["POST"]),
            ]
        )
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen()  # connections queue until uvicorn accepts them: no start-up race
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.base_url = f"{self.url}/v1"
        config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)

    async def __aenter__(self) -> FakeOpenAI:
        self._task = asyncio.create_task(self.server.serve(sockets=[self._socket]))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.release.set()
        self.server.should_exit = True
        await self._task
        self._socket.close()

    def reset(self, *script: str) -> None:
        self.script = list(script)
        self.edits.clear()
        self.moderations.clear()

    # --- routes -----------------------------------------------------------------------------

    def _unauthorised(self, request: Request) -> Response | None:
        if request.headers.get("authorization") == f"Bearer {API_KEY}":
            return None
        return _error(401, "invalid_api_key", "Incorrect API key provided.")

    async def _model(self, request: Request) -> Response:
        self.model_checks += 1
        if (refused := self._unauthorised(request)) is not None:
            return refused
        model_id = request.path_params["model_id"]
        if model_id not in self.models:
            return _error(404, "model_not_found", f"The model `{model_id}` does not exist.")
        body = {"id": model_id, "object": "model", "created": 1_750_000_000, "owned_by": "system"}
        return JSONResponse({**body, "shutdown_date": self.models[model_id]})

    async def _moderate(self, request: Request) -> Response:
        if (refused := self._unauthorised(request)) is not None:
            return refused
        body = await request.json()
        text = body["input"] if isinstance(body["input"], str) else json.dumps(body["input"])
        self.moderations.append(text)
        flagged = any(word in text for word in self.flagged_words)
        categories = {"violence": flagged, "harassment": False}
        result = {
            "flagged": flagged,
            "categories": categories,
            "category_scores": {name: 0.97 if value else 0.01 for name, value in categories.items()},
            "category_applied_input_types": {name: ["text"] for name in categories},
        }
        return JSONResponse({"id": "modr-fake", "model": body.get("model"), "results": [result]})

    async def _edit(self, request: Request) -> Response:
        fields, files = _multipart(request.headers["content-type"], await request.body())
        edit = Edit(fields, files, request.headers.get("authorization"), asyncio.get_running_loop().time())
        self.edits.append(edit)
        if (refused := self._unauthorised(request)) is not None:
            return refused
        mode = self.script.pop(0) if self.script else "ok"
        if mode not in EDIT_MODES:
            raise ValueError(f"unknown mode {mode!r}")
        refusals = {
            "refuse": lambda: _error(400, "moderation_blocked", "Your request was rejected by the safety system."),
            "bad_request": lambda: _error(400, "invalid_value", "Invalid size."),
            "no_model": lambda: _error(404, "model_not_found", "The model does not exist."),
            "rate_limited": lambda: _error(
                429, "rate_limit_exceeded", "Rate limit reached.", {"Retry-After": self.retry_after}
            ),
            "quota": lambda: _error(429, "insufficient_quota", "You exceeded your current quota."),
            "server_error": lambda: _error(
                500, None, "The server had an error processing your request.", {"Retry-After": self.retry_after}
            ),
        }
        if mode in refusals:
            return refusals[mode]()
        painted = self._painted(edit, mode)
        if fields.get("stream") != "true":
            return JSONResponse({"created": 1_750_000_000, "data": [{"b64_json": painted}]})
        return StreamingResponse(self._stream(edit, mode, painted), media_type="text/event-stream")

    def _painted(self, edit: Edit, mode: str) -> str:
        width, height = (int(n) for n in edit.fields["size"].split("x"))
        if mode == "garbage":
            return base64.b64encode(b"definitely not a png").decode()
        if mode == "not_base64":
            return "%%% not base64 %%%"
        if mode == "wrong_size":
            width, height = width // 2, height // 2
        image = np.empty((height, width, 4), np.uint8)
        image[...] = (*PAINT, 255)
        if mode != "wrong_size":
            keep = edit.png("mask")[..., 3] == 255
            image[keep] = edit.png("image")[keep]
            image[keep, 3] = 255
            if mode == "transparent":
                image[~keep, 3] = 0
        return _png(image)

    async def _stream(self, edit: Edit, mode: str, painted: str) -> AsyncIterator[bytes]:
        common = {"background": edit.fields.get("background", "auto"), "created_at": 1_750_000_000}
        common |= {"output_format": edit.fields.get("output_format", "png"), "quality": "low"}
        common |= {"size": edit.fields["size"]}
        partials = int(edit.fields.get("partial_images", "0"))
        for index in range(1 if mode == "stall" else partials):
            partial = {"type": "image_edit.partial_image", "b64_json": painted, "partial_image_index": index}
            yield _sse(partial | common)
        if mode == "stall":
            await self.release.wait()
            return
        if mode == "cut":
            return
        usage = {"input_tokens": 10, "output_tokens": 20, "total_tokens": 30}
        usage["input_tokens_details"] = {"image_tokens": 8, "text_tokens": 2}  # type: ignore[assignment]
        completed = {"type": "image_edit.completed", "b64_json": painted, "usage": usage}
        completed["safety_identifier"] = edit.fields.get("safety_identifier")
        yield _sse(completed | common)
