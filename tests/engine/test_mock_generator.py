from __future__ import annotations

import asyncio

import numpy as np
import pytest

from engine import (
    REFUSE_TOKEN,
    GeneratorError,
    GeneratorRefused,
    GeneratorTimeout,
    MockGenerator,
    OpenAIGenerator,
    build_context,
    encode_png,
    make_generator,
)
from engine.generators._mock_paint import paint

T = 64
H = T // 2
EMPTY = np.zeros((2 * T, 2 * T, 4), dtype=np.uint8)


def _solid(rgb) -> np.ndarray:
    tile = np.empty((T, T, 4), dtype=np.uint8)
    tile[...] = (*rgb, 255)
    return tile


async def test_mock_returns_the_full_window_opaque():
    image = await MockGenerator().generate(EMPTY, "a lighthouse", seed=1)
    assert image.shape == (2 * T, 2 * T, 4) and image.dtype == np.uint8
    assert (image[..., 3] == 255).all()


async def test_mock_is_deterministic_from_prompt_seed_and_context():
    context = build_context({(0, 0): _solid((30, 120, 200))}, (1, 0), T)
    first = await MockGenerator().generate(context, "a lighthouse", seed=7)
    second = await MockGenerator().generate(context.copy(), "a lighthouse", seed=7)
    assert encode_png(first) == encode_png(second)


async def test_mock_paints_differently_for_other_prompts_seeds_and_contexts():
    mock = MockGenerator()
    base = await mock.generate(EMPTY, "a lighthouse", seed=7)
    others = [
        await mock.generate(EMPTY, "a volcano", seed=7),
        await mock.generate(EMPTY, "a lighthouse", seed=8),
        await mock.generate(build_context({(0, 0): _solid((200, 0, 0))}, (1, 0), T), "a lighthouse", seed=7),
    ]
    for other in others:
        assert np.abs(other.astype(int) - base).mean() > 3


async def test_mock_first_tile_is_a_picture_not_a_flat_colour():
    image = (await MockGenerator().generate(EMPTY, "a garden", seed=3))[..., :3].astype(float)
    assert image.std(axis=(0, 1)).max() > 8
    # Low-frequency structure, not per-pixel noise: neighbouring pixels are close.
    assert np.abs(np.diff(image, axis=1)).mean() < 4


@pytest.mark.parametrize("colour", [(200, 40, 40), (20, 160, 90)])
async def test_mock_continues_the_keep_region_into_the_new_tile(colour):
    context = build_context({(0, 0): _solid(colour)}, (1, 0), T)
    image = await MockGenerator().generate(context, "anything at all", seed=5)
    near_edge = image[H : H + T, H : H + T // 8, :3].reshape(-1, 3).mean(axis=0)
    assert np.abs(near_edge - colour).max() < 35, near_edge


async def test_mock_fail_rate_one_always_fails_and_zero_never_does():
    for seed in range(20):
        with pytest.raises(GeneratorError):
            await MockGenerator(fail_rate=1.0).generate(EMPTY, "p", seed=seed)
        await MockGenerator(fail_rate=0.0).generate(EMPTY, "p", seed=seed)


async def test_mock_failures_are_decided_by_the_seed():
    async def fails(seed: int) -> bool:
        try:
            await MockGenerator(fail_rate=0.5).generate(EMPTY, "p", seed=seed)
        except GeneratorError:
            return True
        return False

    outcomes = [await fails(seed) for seed in range(16)]
    assert outcomes == [await fails(seed) for seed in range(16)]
    assert any(outcomes) and not all(outcomes)


async def test_mock_refuses_a_prompt_with_the_refuse_token():
    with pytest.raises(GeneratorRefused) as caught:
        await MockGenerator().generate(EMPTY, f"a cat {REFUSE_TOKEN}", seed=1)
    assert caught.value.reason == "generator_refused"


async def test_mock_reports_increasing_progress_with_previews_ending_at_one():
    reports = []

    async def on_progress(fraction, preview):
        reports.append((fraction, preview))

    await MockGenerator(delay_ms=30).generate(EMPTY, "p", seed=1, on_progress=on_progress)
    fractions = [fraction for fraction, _ in reports]
    assert len(fractions) == 3 and fractions == sorted(fractions) and fractions[-1] == 1.0
    for _, preview in reports:
        assert preview.dtype == np.uint8 and preview.ndim == 3 and max(preview.shape[:2]) <= 64


async def test_mock_at_no_delay_reports_in_one_burst():
    # Nothing else runs between the reports, so a publisher coalesces them into the last one.
    ran_between = []

    async def on_progress(fraction, preview):
        if fraction < 1.0:
            asyncio.get_running_loop().call_soon(ran_between.append, fraction)
        else:
            assert ran_between == []

    await MockGenerator(delay_ms=0).generate(EMPTY, "p", seed=1, on_progress=on_progress)
    await asyncio.sleep(0)
    assert ran_between == [1 / 3, 2 / 3]  # they ran, after the last report


async def test_mock_times_out_past_its_deadline():
    with pytest.raises(GeneratorTimeout) as caught:
        await MockGenerator(delay_ms=5_000, timeout=0.05).generate(EMPTY, "p", seed=1)
    assert caught.value.reason == "generator_timeout"


async def test_mock_rejects_a_malformed_context():
    with pytest.raises(ValueError):
        await MockGenerator().generate(np.zeros((10, 12, 4), np.uint8), "p", seed=1)


async def test_make_generator_builds_the_named_kind():
    mock = make_generator("mock", mock_delay_ms=5, mock_fail_rate=0.25, timeout=3.0)
    assert isinstance(mock, MockGenerator) and (mock.delay_ms, mock.fail_rate, mock.timeout) == (5, 0.25, 3.0)
    openai = make_generator("openai", openai_api_key="sk-test", openai_model="gpt-image-1", timeout=9.0)
    assert isinstance(openai, OpenAIGenerator) and openai.timeout == 9.0
    await openai.aclose()
    with pytest.raises(ValueError):
        make_generator("openai")
    with pytest.raises(ValueError):
        make_generator("midjourney")


async def test_the_painting_runs_where_the_offload_puts_it():
    ran: list[str] = []

    async def offload(function, /, *args, **kwargs):
        ran.append(function.__name__)
        return function(*args, **kwargs)

    image = await make_generator("mock", offload=offload).generate(EMPTY, "a lighthouse", seed=1)
    assert ran == ["paint"] and image.shape == EMPTY.shape


def test_the_painting_written_into_out_is_the_same_image():
    context = build_context({(-1, 0): _solid((200, 40, 40))}, (0, 0), T)
    out = np.full_like(context, 3)
    painted = paint(context, "a harbour", 7, out=out)
    assert painted.image is out
    assert np.array_equal(out, paint(context, "a harbour", 7).image)
