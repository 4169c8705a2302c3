#!/usr/bin/env python3
"""Writes ccpd-split.csv: the fixed training / validation split of ../shared/data/plates-real-ccpd.

The split is by plate text, so that no plate is both trained on and measured: a photo is in
validation when the first byte of SHA-256(plate text, UTF-8) is below 52 (about one in five). The
file is committed; this script documents the rule and checks it (run it again: no difference).

    tools/plates/real/make_split.py [DATA_DIR] > tools/plates/real/ccpd-split.csv
"""

import csv
import hashlib
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "..", "..", "shared", "data",
                                                          "plates-real-ccpd")
rows = list(csv.DictReader(open(os.path.join(data, "labels.csv"), encoding="utf-8")))
out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(["file", "plate", "split"])
for r in rows:
    val = hashlib.sha256(r["plate"].encode("utf-8")).digest()[0] < 52
    out.writerow([r["file"], r["plate"], "val" if val else "train"])
