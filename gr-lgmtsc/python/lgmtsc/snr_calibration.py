#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""SNR estimator calibration: maps the receiver's raw Es/N0 estimate to the true one.

The JSON (written by calibration/phy/snr_calibrate.py) holds ``raw_db`` (mean raw
estimate, increasing) and ``true_db`` (the channel's Es/N0) tables; between points
the map is linear, outside it the end offsets are kept.
"""

import json
import os

import numpy as np

DEFAULT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "snr_calibration.json")


class SnrCalibration:
    def __init__(self, raw_db=(), true_db=(), info=None):
        self.raw = np.asarray(raw_db, float)
        self.true = np.asarray(true_db, float)
        self.info = info or {}
        if self.raw.size:
            o = np.argsort(self.raw)
            self.raw, self.true = self.raw[o], self.true[o]

    @classmethod
    def load(cls, path=""):
        """Load ``path`` ('' = the packaged default; 'none' = identity).

        Raises FileNotFoundError for a path that does not exist and ValueError for a file that is not a
        calibration table, so a mistyped path never silently leaves the estimates uncalibrated."""
        if path == "none":
            return cls()
        path = path or DEFAULT_PATH
        if not os.path.isfile(path):
            raise FileNotFoundError("SNR calibration file not found: %s ('' = the packaged default, "
                                    "'none' = raw estimates)" % path)
        try:
            with open(path) as fh:
                d = json.load(fh)
            raw, true = np.asarray(d["raw_db"], float), np.asarray(d["true_db"], float)
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError("%s is not an SNR calibration table (JSON with raw_db and true_db): %s"
                             % (path, e)) from None
        if raw.ndim != 1 or raw.shape != true.shape:
            raise ValueError("%s: raw_db and true_db must be lists of the same length" % path)
        return cls(raw, true, d)

    def correct(self, raw_db):
        if self.raw.size < 2:
            return float(raw_db)
        r = float(raw_db)
        if r <= self.raw[0]:
            return r + self.true[0] - self.raw[0]
        if r >= self.raw[-1]:
            return r + self.true[-1] - self.raw[-1]
        return float(np.interp(r, self.raw, self.true))
