"""The correction field of the gradient-domain blend is the exact solution of its discrete problem,
to within 1/100 of a grey level (modes are dropped where below 1e-4 of their edge's data: the
field is rounded into a uint8 tile)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine._poisson import harmonic_correction

EDGES = ("left", "right", "top", "bottom")


def dense_solution(data: dict[str, np.ndarray], n: int) -> np.ndarray:
    """The same problem solved as one dense linear system: zero 5-point Laplacian at every pixel,
    ghost lines = data on Dirichlet edges, mirrored second line (h[-1] = h[1]) on the others."""
    channels = next(iter(data.values())).shape[0]
    matrix = np.zeros((n * n, n * n))
    rhs = np.zeros((channels, n * n))
    for y, x in itertools.product(range(n), range(n)):
        row = y * n + x
        matrix[row, row] = -4.0
        for dy, dx, edge in ((0, -1, "left"), (0, 1, "right"), (-1, 0, "top"), (1, 0, "bottom")):
            yy, xx = y + dy, x + dx
            if 0 <= yy < n and 0 <= xx < n:
                matrix[row, yy * n + xx] += 1.0
            elif edge in data:
                rhs[:, row] -= data[edge][:, y if edge in ("left", "right") else x]
            else:
                yy = 1 if yy < 0 else n - 2 if yy >= n else yy
                xx = 1 if xx < 0 else n - 2 if xx >= n else xx
                matrix[row, yy * n + xx] += 1.0
    return np.linalg.solve(matrix, rhs.T).T.reshape(channels, n, n)


SUBSETS = [edges for k in range(1, 5) for edges in itertools.combinations(EDGES, k)]


@pytest.mark.parametrize("n", [2, 3, 4, 7, 8, 16, 32])  # from 32, far lines hold fewer modes
@pytest.mark.parametrize("edges", SUBSETS, ids=lambda edges: "+".join(edges))
def test_the_field_matches_a_dense_solve_for_every_set_of_neighboured_edges(n, edges):
    rng = np.random.default_rng([n, len(edges)])
    data = {edge: rng.normal(0, 40, size=(3, n)) for edge in edges}
    field = harmonic_correction(data, n)
    assert field.dtype == np.float32 and field.shape == (3, n, n) and field.flags.c_contiguous
    np.testing.assert_allclose(field, dense_solution(data, n), atol=1e-2)


def test_constant_data_on_every_edge_gives_that_constant_everywhere():
    data = {edge: np.full((3, 256), value) for edge, value in zip(EDGES, (7.0, 7.0, 7.0, 7.0), strict=True)}
    np.testing.assert_allclose(harmonic_correction(data, 256), 7.0, atol=1e-3)


def test_with_one_dirichlet_edge_and_free_others_a_constant_carries_across_the_whole_tile():
    field = harmonic_correction({"left": np.full((3, 128), -12.0)}, 128)
    np.testing.assert_allclose(field, -12.0, atol=1e-3)


def test_a_large_field_stays_exact_where_it_is_cheap_to_check():
    n = 1024
    rng = np.random.default_rng(5)
    data = {"left": rng.normal(0, 30, size=(3, n)), "top": rng.normal(0, 30, size=(3, n))}
    field = harmonic_correction(data, n).astype(np.float64)
    # The 5-point Laplacian is zero inside (the interior pixels need no boundary handling).
    laplacian = (
        field[:, 1:-1, :-2] + field[:, 1:-1, 2:] + field[:, :-2, 1:-1] + field[:, 2:, 1:-1] - 4 * field[:, 1:-1, 1:-1]
    )
    assert np.abs(laplacian).max() < 3e-2  # the dropped modes leave their 1e-4 where their blocks end
    # Along the left edge, the ghost column is the data: h[-1] = 4 h[0] - h[1] - h[up] - h[down].
    ghost = 4 * field[:, 1:-1, 0] - field[:, 1:-1, 1] - field[:, :-2, 0] - field[:, 2:, 0]
    np.testing.assert_allclose(ghost, data["left"][:, 1:-1], atol=2e-2)
    # The free right and bottom edges mirror: h[n] = h[n-2].
    right = 4 * field[:, 1:-1, -1] - field[:, 1:-1, -2] - field[:, :-2, -1] - field[:, 2:, -1]
    np.testing.assert_allclose(right, field[:, 1:-1, -2], atol=2e-2)


def test_no_data_is_refused():
    with pytest.raises(ValueError):
        harmonic_correction({}, 8)
