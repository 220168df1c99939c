"""The exact harmonic correction field of the gradient-domain blend (private: see engine.seam).

Problem, on an n x n grid (rows y, columns x), per channel: find h with the 5-point Laplacian
zero at every pixel,

    h[y, x-1] + h[y, x+1] + h[y-1, x] + h[y+1, x] - 4 h[y, x] = 0,

where the ghost lines just outside the grid are given by each edge's condition:
- Dirichlet ("D", an edge with data): the ghost line holds the data (in engine.seam: the real
  neighbour's pixels minus the generator's version of them);
- Neumann ("N", an edge without data): vertex-centred reflection, the ghost line mirrors the
  second line (h[-1] = h[1]), a zero central difference at the border pixel.

The operator is a Kronecker sum of two 1D second differences, each with its own pair of end
conditions, so one trigonometric basis per axis diagonalises it: DD the sines of a DST-I, DN the
quarter-wave sines of a DST-II/III, NN the cosines of a DCT-I. The data sit on the boundary only,
so rather than transform a 2D right-hand side forward and back, the field is the sum of a
left/right problem (expanded in the y basis, each mode's profile along x in closed form, a
combination of rho^x and rho^-x) and a top/bottom problem (the axes swapped). That costs one
inverse transform along each axis, each built on numpy's real FFT (up to 256 points a side, one
matrix product with the basis instead): no iteration, nothing approximated beyond float32
rounding and terms below 1e-12 of the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["harmonic_correction"]

_NEGLIGIBLE = 1e-12  # a mode's weight below this fraction of its edge value is taken as zero
_SIDES = {"x": ("left", "right"), "y": ("top", "bottom")}


@dataclass(frozen=True)
class _Basis:
    """The 1D eigenbasis of the second difference on n points with the end conditions `pair`.

    pair is "DD", "DN", "ND" or "NN": the condition at index -1, then at index n. Modes:
    DD: sin(pi (k+1) (y+1) / (n+1)); DN: sin(pi (2k+1) (y+1) / (2n)); ND: DN mirrored;
    NN: cos(pi k y / (n-1)). Mode k has eigenvalue 2 - 2 cos(theta_k), its theta increasing.
    """

    pair: str
    n: int

    def eigenvalues(self) -> np.ndarray:
        """lambda_k >= 0 with (second difference) phi_k = -lambda_k phi_k, float64."""
        k = np.arange(self.n, dtype=np.float64)
        if self.pair == "DD":
            theta = np.pi * (k + 1) / (self.n + 1)
        elif self.pair in ("DN", "ND"):
            theta = np.pi * (2 * k + 1) / (2 * self.n)
        else:
            theta = np.pi * k / max(self.n - 1, 1)
        return 2.0 - 2.0 * np.cos(theta)

    @property
    def _fft_length(self) -> int:
        """The length of the real inverse FFT that sums this basis (DD and NN)."""
        return 2 * self.n + 2 if self.pair == "DD" else 2 * self.n - 2

    def analyse(self, data: np.ndarray) -> np.ndarray:
        """The (C, n) coefficients c, float64, with data = sum_k c_k phi_k, each already times
        the factor `Buffer.synthesise` expects."""
        n = self.n
        data = np.asarray(data, dtype=np.float64)
        if self.pair in ("DN", "ND"):
            # Orthogonal with weight 1/2 at the reflecting end; synthesis wants (-1)^k c_k.
            weighted = data[..., ::-1].copy() if self.pair == "ND" else data.copy()
            weighted[..., -1] *= 0.5
            coefficients = 2.0 / n * _sine_sums(weighted, 4 * n)[..., 1 : 2 * n : 2]
            coefficients[..., 1::2] *= -1.0
            return coefficients
        if self.pair == "DD":  # the DST-I is its own inverse up to 2 / (n + 1)
            coefficients = 2.0 / (n + 1) * _sine_sums(data, 2 * n + 2)[..., 1 : n + 1]
            return -(n + 1) * coefficients  # a sine lives in the imaginary part, negated
        # The DCT-I is its own inverse up to 2 / (n - 1), with weight 1/2 at both ends.
        ends = np.ones(n)
        ends[0] = ends[-1] = 0.5
        coefficients = 2.0 / (n - 1) * ends * _cosine_sums(ends * data, 2 * n - 2)[..., :n]
        scale = np.full(n, n - 1.0)
        scale[0] = scale[-1] = 2.0 * (n - 1)
        return scale * coefficients


def _sine_sums(values: np.ndarray, length: int) -> np.ndarray:
    """s[p] = sum_j values[j-1] sin(2 pi j p / length) for p = 0..length-1 (float64)."""
    spectrum = np.zeros((*values.shape[:-1], length // 2 + 1), dtype=np.complex128)
    spectrum.imag[..., 1 : values.shape[-1] + 1] = -length / 2.0 * values
    return np.fft.irfft(spectrum, n=length, axis=-1)


def _cosine_sums(values: np.ndarray, length: int) -> np.ndarray:
    """s[p] = sum_j values[j] cos(2 pi j p / length) for p = 0..length-1 (float64)."""
    spectrum = np.zeros((*values.shape[:-1], length // 2 + 1), dtype=np.complex128)
    spectrum.real[..., : values.shape[-1]] = length / 2.0 * values
    spectrum.real[..., 0] *= 2.0
    spectrum.real[..., length // 2] *= 2.0
    return np.fft.irfft(spectrum, n=length, axis=-1)


# Up to this many points a side, a half problem is summed by one matrix product with the basis
# (cached per shape) rather than by an FFT: at n = 256 the DD sums' FFT has length 514 = 2 x 257, a
# prime that sends pocketfft to Bluestein's algorithm (5.8 ms against 0.8 ms for the product); at
# n = 512 the product costs twice the FFT.
_MATRIX_SIDE = 256


class _Buffer:
    """The coefficients of a half problem, (C, position across, mode), laid out for its inverse
    transform along the last axis: DD and NN modes where a real inverse FFT reads them, DN and ND
    modes in Makhoul's order (even modes ascending, then odd modes descending) for a DCT-II; or,
    when `dense`, in a plain float32 array that a matrix product with the basis sums."""

    def __init__(self, basis: _Basis, channels: int, dense: bool | None = None):
        self.basis, n = basis, basis.n
        self.dense = n <= _MATRIX_SIDE if dense is None else dense
        if basis.pair in ("DN", "ND") or self.dense:
            self.array = np.zeros((channels, n, n), dtype=np.float32)
            self._modes = self.array
        else:
            self.array = np.zeros((channels, n, basis._fft_length // 2 + 1), dtype=np.complex64)
            self._modes = self.array.real[..., :n] if basis.pair == "NN" else self.array.imag[..., 1 : n + 1]

    def add(self, rows: slice, coefficients: np.ndarray, block: np.ndarray) -> None:
        """Add coefficients (C, K) times block (rows, K) to modes 0..K-1 of those rows."""
        modes = self._modes[:, rows]
        if self.basis.pair not in ("DN", "ND"):
            modes[..., : block.shape[1]] += coefficients[:, None, :] * block[None]
            return
        n = self.basis.n
        even = coefficients[:, None, 0::2] * block[None, :, 0::2]
        odd = coefficients[:, None, 1::2] * block[None, :, 1::2]
        modes[..., : even.shape[-1]] += even
        if odd.shape[-1]:
            modes[..., n - odd.shape[-1] :] += odd[..., ::-1]

    def synthesise(self) -> np.ndarray:
        """sum_k c_k phi_k at positions 0..n-1 along the last axis: a (C, across, n) float32 field."""
        n, pair = self.basis.n, self.basis.pair
        if self.dense:
            return self.array @ _synthesis_matrix(pair, n)
        if pair in ("DN", "ND"):
            return _quarter_wave_sums(self.array, reverse=pair == "DN")
        values = np.fft.irfft(self.array, n=self.basis._fft_length, axis=-1)
        return values[..., :n] if pair == "NN" else values[..., 1 : n + 1]


@lru_cache(maxsize=16)
def _synthesis_matrix(pair: str, n: int) -> np.ndarray:
    """The (buffer position, position) float32 matrix of a dense buffer's sums: the transform's
    own output for each position's unit vector, so that both ways give the same field."""
    probe = _Buffer(_Basis(pair, n), 1, dense=False)
    probe._modes[0, np.arange(n), np.arange(n)] = 1.0
    matrix = np.ascontiguousarray(probe.synthesise()[0])
    matrix.flags.writeable = False  # cached and shared between calls
    return matrix


def _quarter_wave_sums(reordered: np.ndarray, reverse: bool) -> np.ndarray:
    """X[j] = sum_m d_m cos(pi (2m + 1) j / (2n)) along the last axis (a DCT-II), from d_m in
    Makhoul's order, with one real FFT of length n: X[j] = Re(exp(-i pi j / 2n) V_j) with
    V = FFT(reordered) and V_(n-j) = conj(V_j). With d_m = (-1)^m c_m, X[n-1-y] is
    sum_m c_m sin(pi (2m+1) (y+1) / (2n)), the DN synthesis: `reverse` returns X in that order."""
    n = reordered.shape[-1]
    z = np.fft.rfft(reordered, axis=-1)  # n // 2 + 1 values
    z *= np.exp(-1j * np.pi * np.arange(n // 2 + 1) / (2 * n)).astype(np.complex64)
    # X[j] = Re(z_j) for j <= n/2, and X[n-j] = -Im(z_j) for 1 <= j < n/2.
    values = np.empty(reordered.shape, dtype=np.float32)
    view = values[..., ::-1] if reverse else values
    view[..., : n // 2 + 1] = z.real
    tail = (n - 1) // 2
    if tail:
        # Not np.negative(..., out=view): numpy 2.4 mis-strides that call for a one-wide tail.
        view[..., n - tail :] = -z.imag[..., tail:0:-1]
    return values


def _add_transposed(target: np.ndarray, source: np.ndarray, tile: int = 128) -> None:
    """target[c] += source[c].T for (C, n, n) arrays, a cache-sized square at a time (a plain
    strided add of a transpose is about six times slower at n = 1024)."""
    n = target.shape[1]
    for c in range(target.shape[0]):
        for row in range(0, n, tile):
            for col in range(0, n, tile):
                target[c, row : row + tile, col : col + tile] += source[c, col : col + tile, row : row + tile].T


@lru_cache(maxsize=32)
def _profile_blocks(pair: str, n: int, far: str) -> tuple[tuple[int, int, np.ndarray], ...]:
    """Each mode of the basis `pair` on n points: its decay away from an edge with unit data at
    position -1, in the blocks where it matters: (first row, last row + 1, block), block (rows, K)
    float32 for modes 0..K-1; every value outside the blocks is below 1e-12 and taken as zero.
    Cached: it depends on the shape of the problem alone.

    With rho = exp(-alpha) a mode's decay per pixel and the far edge at position n, the profile is
    a rho^(x+1) + b rho^(n-x), a and b set by the two end conditions: for a Dirichlet far edge,
    (rho^(x+1) - rho^(2n+1-x)) / (1 - rho^(2n+2)); for a Neumann one, (rho^(x+1) + rho^(2n-1-x))
    / (1 + rho^(2n)). The constant mode of a Neumann-Neumann axis (alpha = 0) is linear,
    (n - x) / (n + 1), or constant, 1. Higher modes decay faster, so the blocks narrow away from
    the edge: at n = 1024 they hold about a tenth of the (position, mode) pairs.
    """
    alpha = np.arccosh(1.0 + _Basis(pair, n).eigenvalues() / 2.0)  # increasing with the mode
    flat = alpha == 0
    safe = np.where(flat, 1.0, alpha)
    if far == "D":
        norm = 1.0 / -np.expm1(-(2 * n + 2) * safe)
        weight = -np.exp(-(n + 1) * safe) * norm
    else:
        norm = 1.0 / (1.0 + np.exp(-2 * n * alpha))
        weight = np.exp(-(n - 1) * alpha) * norm
    reach = -np.log(_NEGLIGIBLE)
    echoed = int(np.count_nonzero(alpha * (n - 1) < reach))  # modes the far edge sends back
    blocks = []
    first = 0
    while first < n:
        last = min(n, 2 * first + 1)
        modes = max(int(np.count_nonzero(alpha * (first + 1) < reach)), echoed, 1)
        x = np.arange(first, last, dtype=np.float64)[:, None]
        a = alpha[None, :modes]
        profile = np.exp(-a * (x + 1)) * norm[:modes] + np.exp(-a * (n - x)) * weight[:modes]
        if flat[:modes].any():
            profile[:, flat[:modes]] = (n - x) / (n + 1) if far == "D" else 1.0
        # Zero rather than let float32 subnormals in: they slow the FFT several times over.
        profile[np.abs(profile) < _NEGLIGIBLE] = 0.0
        block = profile.astype(np.float32)
        block.flags.writeable = False  # cached and shared between calls
        blocks.append((first, last, block))
        first = last
    return tuple(blocks)


def _half_problem(data: dict[str, np.ndarray], n: int, channels: int, along: str) -> np.ndarray | None:
    """The field due to the data on the two edges across the axis `along`, or None: (C, y, x)
    for along="x" (top and bottom edges), (C, x, y) for along="y" (left and right edges).

    For along="y" the field is expanded in the y basis (the conditions of the top and bottom
    edges), each mode decaying along x from its edge; along="x" swaps the axes.
    """
    across = "x" if along == "y" else "y"
    near, far = _SIDES[across]
    if near not in data and far not in data:
        return None
    basis = _Basis("".join("D" if side in data else "N" for side in _SIDES[along]), n)
    buffer = _Buffer(basis, channels)
    for side, other in ((near, far), (far, near)):
        if side not in data:
            continue
        coefficients = basis.analyse(data[side])
        coefficients[np.abs(coefficients) < _NEGLIGIBLE] = 0.0  # rounding noise, and no subnormals
        coefficients = coefficients.astype(np.float32)
        for first, last, block in _profile_blocks(basis.pair, n, "D" if other in data else "N"):
            if side == near:
                buffer.add(slice(first, last), coefficients[:, : block.shape[1]], block)
            else:
                buffer.add(slice(n - last, n - first), coefficients[:, : block.shape[1]], block[::-1])
    return buffer.synthesise()


def harmonic_correction(data: dict[str, np.ndarray], n: int) -> np.ndarray:
    """The (C, n, n) float32 field h described in the module docstring, rows y then columns x.

    `data` maps each Dirichlet edge ("left", "right", "top", "bottom") to its (C, n) ghost-line
    values, ordered top to bottom for left/right and left to right for top/bottom; the edges
    not in it are Neumann. At least one edge must have data.
    """
    if not data:
        raise ValueError("the correction needs data on at least one edge")
    channels = next(iter(data.values())).shape[0]
    field = _half_problem(data, n, channels, "x")  # (C, y, x)
    transposed = _half_problem(data, n, channels, "y")  # (C, x, y)
    if transposed is not None:
        if field is None:
            field = np.zeros((channels, n, n), dtype=np.float32)
        _add_transposed(field, transposed)
    assert field is not None
    return field if field.flags.c_contiguous else np.ascontiguousarray(field)
