#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Synchronous wrappers of gr-fec coder objects (cc K=7 r=1/2, LDPC) on numpy arrays.

gr-fec's generic_encoder/decoder expose ``generic_work(capsule, capsule)``;
we pass numpy buffers as PyCapsules. Soft input convention of this module:
``llr = log P(b=1) / P(b=0)`` (positive means bit 1), which is gr-fec's
"soft symbol" sign (bit 1 -> +1).
"""

import ctypes
import os

import numpy as np
from gnuradio import fec

_capsule_new = ctypes.pythonapi.PyCapsule_New
_capsule_new.restype = ctypes.py_object
_capsule_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]


def _cap(a):
    return _capsule_new(a.ctypes.data, None, None)


CC_K = 7
CC_POLYS = [79, -109]   # GNU Radio's default (0o117, 0o155), Voyager code
LDPC_DIR = "/usr/share/gnuradio/fec/ldpc"
LDPC_ALIST = os.path.join(LDPC_DIR, "n_1800_k_0902_gap_28.alist")
_LDPC_SIGMA = 0.5   # decoder's assumed sigma; LLRs are rescaled to it


def _llr_to_uchar(llr):
    """LLR -> gr-fec cc_decoder uchar soft symbols (128 + 48 s)."""
    scale = np.mean(np.abs(llr)) + 1e-12
    s = llr / scale
    return np.clip(np.rint(128.0 + 48.0 * s), 0, 255).astype(np.uint8)


class CcCode:
    """Terminated K=7 rate-1/2 convolutional code (gr-fec cc_encoder/cc_decoder)."""
    name = "cc"

    def __init__(self):
        self._enc = {}
        self._dec = {}

    def coded_len(self, nbits):
        return 2 * (nbits + CC_K - 1)

    def encode(self, bits):
        bits = np.ascontiguousarray(bits, dtype=np.uint8)
        n = bits.size
        if n not in self._enc:
            self._enc[n] = fec.cc_encoder_make(n, CC_K, 2, CC_POLYS, 0, fec.CC_TERMINATED, False)
        out = np.zeros(self.coded_len(n), np.uint8)
        self._enc[n].generic_work(_cap(bits), _cap(out))
        return out

    def decode(self, llr, nbits):
        llr = np.asarray(llr, dtype=np.float64)
        if llr.size != self.coded_len(nbits):
            raise ValueError("cc: wrong number of soft bits")
        if nbits not in self._dec:
            self._dec[nbits] = fec.cc_decoder.make(nbits, CC_K, 2, CC_POLYS, 0, -1,
                                                   fec.CC_TERMINATED, False)
        u = _llr_to_uchar(llr)
        out = np.zeros(nbits, np.uint8)
        self._dec[nbits].generic_work(_cap(u), _cap(out))
        return out


class LdpcCode:
    """LDPC from a Debian alist (default n=1800, k=902), belief propagation decoder."""
    name = "ldpc"

    def __init__(self, alist=LDPC_ALIST, max_iter=50):
        self.enc = fec.ldpc_encoder.make(alist)
        self.dec = fec.ldpc_decoder.make(alist, _LDPC_SIGMA, max_iter)
        self.k = self.enc.get_input_size()
        self.n = self.enc.get_output_size()

    def coded_len(self, nbits):
        return self.n * -(-nbits // self.k)

    def encode(self, bits):
        nb = -(-bits.size // self.k)
        padded = np.zeros(nb * self.k, np.uint8)
        padded[:bits.size] = bits
        out = np.zeros(nb * self.n, np.uint8)
        for i in range(nb):   # one call per codeword (gr-fec frame), not per bit
            blk = np.ascontiguousarray(padded[i * self.k:(i + 1) * self.k])
            o = np.zeros(self.n, np.uint8)
            self.enc.generic_work(_cap(blk), _cap(o))
            out[i * self.n:(i + 1) * self.n] = o
        return out

    def decode(self, llr, nbits):
        nb = -(-nbits // self.k)
        if llr.size != nb * self.n:
            raise ValueError("ldpc: wrong number of soft bits")
        y = np.clip(np.asarray(llr, np.float64), -50, 50) * (_LDPC_SIGMA ** 2 / 2.0)
        y = y.astype(np.float32)
        out = np.zeros(nb * self.k, np.uint8)
        for i in range(nb):
            blk = np.ascontiguousarray(y[i * self.n:(i + 1) * self.n])
            o = np.zeros(self.k, np.uint8)
            self.dec.generic_work(_cap(blk), _cap(o))
            out[i * self.k:(i + 1) * self.k] = o
        return out[:nbits]


class NoCode:
    name = "none"

    def coded_len(self, nbits):
        return nbits

    def encode(self, bits):
        return np.asarray(bits, np.uint8)

    def decode(self, llr, nbits):
        return (np.asarray(llr) > 0).astype(np.uint8)


def make_code(name):
    return {"none": NoCode, "cc": CcCode, "ldpc": LdpcCode}[name]()
