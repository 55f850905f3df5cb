#!/usr/bin/env python3
#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""SnrCalibration: the packaged table loads, a missing or malformed file is an error, never the identity."""

import json
import os
import tempfile

from gnuradio import gr_unittest
from gnuradio.lgmtsc import burst_rx
from gnuradio.lgmtsc.snr_calibration import DEFAULT_PATH, SnrCalibration


class qa_snr_calibration(gr_unittest.TestCase):

    def test_001_packaged_default(self):
        cal = SnrCalibration.load("")
        self.assertTrue(os.path.isfile(DEFAULT_PATH))
        self.assertGreaterEqual(cal.raw.size, 10)
        # inside the table: interpolated; the raw estimate of each point maps to its true Es/N0
        self.assertAlmostEqual(cal.correct(cal.raw[3]), cal.true[3], places=9)
        # outside: the end offset is kept
        self.assertAlmostEqual(cal.correct(cal.raw[-1] + 10.0), cal.true[-1] + 10.0, places=9)

    def test_002_none_is_identity(self):
        self.assertEqual(SnrCalibration.load("none").correct(7.25), 7.25)

    def test_003_missing_path_fails(self):
        with self.assertRaises(FileNotFoundError) as cm:
            SnrCalibration.load("/nonexistent/snr_calibration.json")
        self.assertIn("/nonexistent/snr_calibration.json", str(cm.exception))
        with self.assertRaises(FileNotFoundError):
            burst_rx(calibration="/nonexistent/snr_calibration.json")

    def test_004_malformed_file_fails(self):
        with tempfile.TemporaryDirectory() as d:
            for name, text in (("bad.json", "{not json"), ("keys.json", json.dumps({"raw": [1, 2]})),
                               ("lengths.json", json.dumps({"raw_db": [1, 2, 3], "true_db": [1, 2]}))):
                path = os.path.join(d, name)
                with open(path, "w") as fh:
                    fh.write(text)
                with self.assertRaises(ValueError, msg=name):
                    SnrCalibration.load(path)

    def test_005_custom_table(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "cal.json")
            with open(path, "w") as fh:
                json.dump({"raw_db": [10.0, 0.0], "true_db": [12.0, 1.0]}, fh)
            cal = SnrCalibration.load(path)
            self.assertEqual(list(cal.raw), [0.0, 10.0])   # sorted by the raw estimate
            self.assertAlmostEqual(cal.correct(5.0), 6.5)
            self.assertAlmostEqual(cal.correct(-2.0), -1.0)


if __name__ == '__main__':
    gr_unittest.run(qa_snr_calibration)
