"""HTTP, sockets and coordination: the app around the pure engine and the storage layer."""

import os

# numpy's OpenBLAS runs a matrix product (engine/_poisson.py sums the seam field with them) on a
# thread per core and lets those threads spin between products: in bench/live.py that doubled the
# CPU per step. Pixel work is bounded by the server's own workers (server/play/pixels.py), so BLAS
# stays on the calling thread. This package is imported before anything imports numpy, in the
# server and in its pixel worker processes (`python -m server.play.pixel_workers`) alike.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
