"""HTTP, sockets and coordination: the app around the pure engine and the storage layer."""

import os

# numpy's OpenBLAS runs a matrix product (engine/_poisson.py sums small tiles' fields with one) on
# a thread per core and lets those threads spin between products: in bench/live.py that doubled
# the CPU per step. Pixel work is bounded by the server's own pool (server/play/pixels.py), so
# BLAS stays on the calling thread. This package is imported before anything imports numpy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
