"""OpenAIGenerator end to end, through the real SDK and HTTP, against tests/fakes/openai_api.py
served by uvicorn on a real port: what it sends, what it makes of each answer, its retries."""

from __future__ import annotations

import asyncio
import socket
from contextlib import asynccontextmanager

import numpy as np
import pytest
from PIL import Image

from engine import OpenAIGenerator, build_context, encode_jpeg_preview, encode_png
from engine.errors import (
    GeneratorBadOutput,
    GeneratorBusy,
    GeneratorError,
    GeneratorFailure,
    GeneratorRefused,
    GeneratorTimeout,
    GeneratorUnavailable,
)
from engine.generators._openai_pixels import MIN_PIXELS, decode_answer, encode_request, request_side
from tests.fakes.openai_api import API_KEY, MODEL, PAINT, FakeOpenAI

ROOMY = 30.0  # a deadline no test that succeeds comes near


@pytest.fixture(scope="module")
async def fake():
    async with FakeOpenAI() as api:
        yield api


@asynccontextmanager
async def _generator(fake, *script, timeout=ROOMY, key=API_KEY, model=MODEL, **options):
    fake.reset(*script)
    fake.retry_after = "0"
    generator = OpenAIGenerator(key, model=model, base_url=fake.base_url, timeout=timeout, **options)
    try:
        yield generator
    finally:
        await generator.aclose()


def _context(tile_size: int = 256) -> np.ndarray:
    left = np.zeros((tile_size, tile_size, 4), np.uint8)
    left[...] = (200, 30, 30, 255)
    return build_context({(0, 0): left}, (1, 0), tile_size)


def test_the_window_is_sent_as_is_where_the_model_accepts_it():
    assert [request_side(2 * t, 2048) for t in (256, 512, 1024)] == [816, 1024, 2048]
    assert request_side(2048, 1536) == 1536
    assert 816**2 >= MIN_PIXELS > 800**2 and 816 % 16 == 0  # the smallest accepted square


@pytest.mark.parametrize("tile_size, sent", [(256, 816), (512, 1024), (1024, 2048)])
async def test_each_tile_size_sends_its_window_with_an_exact_mask(fake, tile_size, sent):
    context = _context(tile_size)
    async with _generator(fake, quality="low", complexity="medium") as generator:
        image = await generator.generate(context, "a red barn", seed=3, safety_identifier="player-hmac")
    (edit,) = fake.edits
    assert edit.fields["size"] == f"{sent}x{sent}" and edit.fields["model"] == MODEL
    assert edit.fields["prompt"] == "a red barn" and edit.fields["n"] == "1"
    assert edit.fields["background"] == "opaque" and edit.fields["output_format"] == "png"
    assert edit.fields["stream"] == "true" and edit.fields["partial_images"] == "2"
    assert edit.fields["safety_identifier"] == "player-hmac"
    assert (edit.fields["quality"], edit.fields["complexity"]) == ("low", "medium")
    assert edit.png("image").shape == (sent, sent, 4)
    # The mask: alpha alone, exactly the KEEP region (NEAREST, so no half-transparent border).
    assert edit.mode_of("mask") == "LA" and not edit.png("mask")[..., :3].any()
    mask = edit.png("mask")[..., 3]
    keep = np.asarray(Image.fromarray(context[..., 3]).resize((sent, sent), Image.Resampling.NEAREST))
    assert np.array_equal(mask, keep) and set(np.unique(mask)) == {0, 255}
    if sent == 2 * tile_size:
        assert np.array_equal(mask, context[..., 3])
    # The answer comes back at the window's size, opaque, painted where the mask said.
    assert image.shape == context.shape and (image[..., 3] == 255).all()
    assert np.abs(image[tile_size, tile_size + 10, :3].astype(int) - PAINT).max() <= 2
    assert np.abs(image[tile_size, 10, :3].astype(int) - (200, 30, 30)).max() <= 2


def test_max_side_1536_asks_for_1536_and_scales_the_answer_back():
    request = encode_request(_context(1024), request_side(2048, 1536))
    answer = np.full((1536, 1536, 4), 255, np.uint8)
    assert request.side == 1536 and decode_answer(encode_png(answer), request).shape == (2048, 2048, 4)


async def test_partial_images_become_progress_with_small_previews(fake):
    reports = []

    async def on_progress(fraction, preview):
        reports.append((fraction, preview))

    async with _generator(fake, partial_images=3) as generator:
        await generator.generate(_context(512), "a barn", seed=1, on_progress=on_progress)
    fractions = [fraction for fraction, _ in reports]
    assert fractions == [0.25, 0.5, 0.75, 1.0]
    for _, preview in reports[:3]:
        assert preview is not None and max(preview.shape[:2]) <= 128
        assert np.abs(preview[64, 100].astype(int) - PAINT).max() <= 8  # the model's painting, not a stand-in
        assert len(encode_jpeg_preview(preview)) <= 30_000


async def _failure(fake, *script, **options) -> GeneratorFailure:
    async with _generator(fake, *script, **options) as generator:
        with pytest.raises(GeneratorFailure) as caught:
            await generator.generate(_context(), "a barn", seed=1)
    return caught.value


@pytest.mark.parametrize(
    "mode, kind, reason",
    [
        ("refuse", GeneratorRefused, "generator_refused"),
        ("bad_request", GeneratorError, "generator_error"),
        ("no_model", GeneratorUnavailable, "generator_unavailable"),
        ("quota", GeneratorUnavailable, "generator_unavailable"),
        ("garbage", GeneratorBadOutput, "generator_bad_output"),
        ("not_base64", GeneratorBadOutput, "generator_bad_output"),
        ("wrong_size", GeneratorBadOutput, "generator_bad_output"),
        ("transparent", GeneratorBadOutput, "generator_bad_output"),
    ],
)
async def test_each_final_answer_is_its_own_failure_and_is_not_retried(fake, mode, kind, reason):
    failure = await _failure(fake, mode, "ok")
    assert type(failure) is kind and failure.reason == reason
    assert len(fake.edits) == 1
    assert failure.alarm == (kind is GeneratorUnavailable)


async def test_a_refused_key_is_unavailable_and_names_the_setting(fake):
    failure = await _failure(fake, key="sk-wrong")
    assert isinstance(failure, GeneratorUnavailable) and "OPENAI_API_KEY" in str(failure)


@pytest.mark.parametrize("first", ["server_error", "cut"])
async def test_a_server_error_or_a_cut_stream_is_retried_and_the_retry_paints(fake, first):
    async with _generator(fake, first, "ok") as generator:
        image = await generator.generate(_context(), "a barn", seed=1)
    assert len(fake.edits) == 2 and image.shape == (512, 512, 4)


async def test_a_rate_limit_is_retried_after_its_retry_after(fake):
    async with _generator(fake, "rate_limited", "ok") as generator:
        fake.retry_after = "0.4"  # longer than the 0.2-0.3 s the backoff would wait without it
        await generator.generate(_context(), "a barn", seed=1)
    first, second = fake.edits
    assert second.arrived - first.arrived >= 0.4


async def test_a_retry_after_past_the_deadline_gives_up_at_once_as_busy(fake):
    loop = asyncio.get_running_loop()
    async with _generator(fake, "rate_limited", "ok", timeout=3.0) as generator:
        fake.retry_after = "5"
        started = loop.time()
        with pytest.raises(GeneratorBusy) as caught:
            await generator.generate(_context(), "a barn", seed=1)
    assert caught.value.reason == "generator_busy" and len(fake.edits) == 1 and loop.time() - started < 1.0


async def test_retries_stop_while_a_whole_generation_still_fits_in_the_deadline(fake):
    loop = asyncio.get_running_loop()
    async with _generator(fake, "rate_limited", timeout=0.6) as generator:
        fake.retry_after = "5"  # past the deadline: one refused attempt, given up at once
        started = loop.time()
        with pytest.raises(GeneratorBusy):
            await generator.generate(_context(), "a barn", seed=1)
        refused = loop.time() - started
    # The last retry starts with a quarter of the deadline left, which must hold one refused
    # attempt (both sides' PNG work, on a loaded machine too): a deadline of 12 of them.
    timeout = max(0.6, 12 * refused)
    async with _generator(fake, *["rate_limited"] * 500, timeout=timeout) as generator:
        fake.retry_after = "0.05"
        started = loop.time()
        with pytest.raises(GeneratorBusy):
            await generator.generate(_context(), "a barn", seed=1)
    # Each retry waits 0.05 s and stops with a quarter of the deadline still left.
    assert 2 <= len(fake.edits) <= 1 + 0.75 * timeout / 0.05 and loop.time() - started < timeout


async def test_a_stalled_stream_times_out_at_the_deadline_after_its_preview(fake):
    loop = asyncio.get_running_loop()
    previews = []

    async def on_progress(fraction, preview):
        previews.append(preview)

    async with _generator(fake, "ok", "stall") as generator:
        started = loop.time()
        await generator.generate(_context(), "a barn", seed=1)  # connected: the deadline falls mid-stream
        # The image work before the preview (both sides' PNGs, all on this machine) is part of the
        # whole generation just timed: a deadline thrice that holds it on a loaded machine too,
        # and at least a second, since the load can rise after the warm-up (at 0.4 s it failed
        # once in a full run of the suite).
        generator.timeout = deadline = max(1.0, 3 * (loop.time() - started))
        started = loop.time()
        with pytest.raises(GeneratorTimeout) as caught:
            await generator.generate(_context(), "a barn", seed=1, on_progress=on_progress)
    assert caught.value.reason == "generator_timeout" and deadline <= loop.time() - started < deadline + 0.5
    assert len(previews) == 1 and previews[0] is not None


async def test_an_unreachable_api_is_retried_until_the_deadline_would_be_overrun():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound but not listening: connections are refused
        base_url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        generator = OpenAIGenerator(API_KEY, base_url=base_url, timeout=0.5)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            with pytest.raises(GeneratorError):
                await generator.generate(_context(), "a barn", seed=1)
        finally:
            await generator.aclose()
    assert loop.time() - started < 0.5


async def test_the_model_check_passes_a_current_model_and_asks_once_a_minute(fake):
    async with _generator(fake) as generator:
        checks = fake.model_checks
        await generator.check()
        await generator.check()
    assert fake.model_checks == checks + 1


@pytest.mark.parametrize(
    "model, key, words",
    [
        ("gpt-image-9", API_KEY, "OPENAI_MODEL"),
        ("gpt-image-1", API_KEY, "shut down"),
        (MODEL, "sk-no", "OPENAI_API_KEY"),
    ],
)
async def test_the_model_check_names_what_to_set(fake, model, key, words):
    async with _generator(fake, model=model, key=key) as generator:
        with pytest.raises(GeneratorUnavailable) as caught:
            await generator.check()
        checks = fake.model_checks
        with pytest.raises(GeneratorUnavailable):
            await generator.check()  # remembered, not asked again
    assert words in str(caught.value) and fake.model_checks == checks


async def test_an_unavailable_generation_raises_the_alarm_and_a_success_clears_it(fake):
    async with _generator(fake, "quota") as generator:
        await generator.check()
        with pytest.raises(GeneratorUnavailable):
            await generator.generate(_context(), "a barn", seed=1)
        with pytest.raises(GeneratorUnavailable):
            await generator.check()
        await generator.generate(_context(), "a barn", seed=1)
        await generator.check()
