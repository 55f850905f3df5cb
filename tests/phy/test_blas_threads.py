"""The burst receiver limits the OpenBLAS threads numpy actually calls (numpy's wheel bundles its own OpenBLAS with
64-bit symbols; limiting the system's left numpy's at 2 threads, and a 25x25 solve took 4 ms instead of 0.05 on a
loaded machine)."""

from __future__ import annotations

import numpy as np
import pytest


def test_receiver_limits_numpys_own_openblas():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from gnuradio.lgmtsc import frame

    np.linalg.solve(np.eye(4), np.ones(4))  # numpy's BLAS is loaded
    numpy_blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"
                  and "numpy" in i["filepath"]]
    if not numpy_blas:
        pytest.skip("numpy here does not bundle its own OpenBLAS")
    before = numpy_blas[0]["num_threads"]
    try:
        frame.Receiver(frame.Frame(), blas_threads=1)
        path = numpy_blas[0]["filepath"]
        after = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["filepath"] == path]
        assert after == [1]
    finally:
        threadpoolctl.threadpool_limits(before, user_api="blas")
