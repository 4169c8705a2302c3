#!/usr/bin/env python3
"""Measures an object-class network (tools/classes/train.py) on the real clips' track crops, which
its training never sees: per crop, and per track (the mean of its first five crops, as vigil looks).

    build/tools/analyse/vigil-analyse --crops DIR/car --crops-prefix car ../shared/data/video-real/car-detection.mp4
    build/tools/analyse/vigil-analyse --crops DIR/room --crops-prefix room ../shared/data/video-real/one-by-one-person-detection.mp4
    tools/classes/evaluate.py MODEL.onnx DIR

The labels are per track of those crops, looked at by hand (montages of each track's crops); track
numbers are the tracker's at commit 825bc99 and later, while the motion and tracker stages are
unchanged. The last tenth of each track's crops is left out (a track can end on its object's ghost).
"""

import collections
import csv
import sys

import cv2
import numpy as np

CLASSES = ["person", "vehicle", "two_wheeler", "other"]
LABELS = {
    # Overhead road: four cars (13 holds cars 2 and 3 passing each other); 4 and 21 are lane
    # markings stirred by the exposure swings.
    "car": {"1": "vehicle", "13": "vehicle", "15": "vehicle", "19": "vehicle", "4": "other", "21": "other"},
    # Room: six people walking in (46, 48, 49: close-ups of the last ones at the bottom edge); the
    # rest are the wall, the floor and a table leg.
    "room": {**{t: "person" for t in "1 16 22 31 37 45 46 48 49".split()},
             **{t: "other" for t in "3 8 14 25 35 41 57 58".split()}},
}


def main():
    net = cv2.dnn.readNetFromONNX(sys.argv[1])
    root = sys.argv[2]
    for clip, lab in LABELS.items():
        d = f"{root}/{clip}"
        by = collections.defaultdict(list)
        for r in csv.DictReader(open(d + "/crops.csv")):
            by[r["track"]].append(r)
        crops = right = tracks = tracks_right = 0
        for t, rs in sorted(by.items(), key=lambda kv: int(kv[0])):
            if t not in lab:
                continue
            ps = []
            for r in rs[: max(1, int(len(rs) * 0.9))]:
                net.setInput(cv2.dnn.blobFromImage(cv2.imread(d + "/" + r["file"]), 1 / 255.0))
                z = net.forward()[0]
                p = np.exp(z - z.max())
                ps.append(p / p.sum())
                crops += 1
                right += CLASSES[int(ps[-1].argmax())] == lab[t]
            first = np.mean(ps[:5], axis=0)
            tracks += 1
            tracks_right += CLASSES[int(first.argmax())] == lab[t]
            print(f"{clip} track {t}: {lab[t]} -> {CLASSES[int(first.argmax())]} {np.round(first, 2)}")
        print(f"{clip}: crops {right}/{crops}, tracks {tracks_right}/{tracks}")


if __name__ == "__main__":
    main()
