#!/usr/bin/env python3
"""Trains an object-class network (person, vehicle, two_wheeler, other) on track crops and exports it
as ONNX for OpenCV's dnn module. An experiment, not shipped: docs/analytics.md ("A trained network,
first try") has what it scores on the real clips (tools/classes/evaluate.py) and why.

    build/tools/analyse/vigil-analyse --crops DIR --crops-prefix vtest /usr/share/doc/opencv-doc/examples/data/vtest.avi
    tools/classes/train.py --person-crops DIR --ccpd ../shared/data/plates-real-ccpd \
        --background /usr/share/doc/opencv-doc/examples/data/vtest.avi --steps 800 --out /tmp/classes.onnx

Training data, none of it from the clips the real-footage suite measures classes on
(../shared/data/video-real):
  - person: crops of the tracks vigil follows in OpenCV's vtest.avi (PETS 2009 pedestrians), as
    `vigil-analyse --crops` writes them (ClassCrop: the square around the box, 64x64), boxes cut by
    the frame's edge left out (a person half out of view beside a parked car is not a person crop);
    the last tenth of each track left out (a track can end on the ghost its object left);
  - vehicle: the real car photographs of ../shared/data/plates-real-ccpd (fronts and backs), a square
    around the car from its plate's box;
  - other: patches of vtest.avi's empty scene (the per-pixel median of its frames: lawn, road, walls,
    windows, signs), at the sizes tracks have.
two_wheeler has no real data here yet: the network's output for it is trained towards zero.

A small CNN (4 conv layers, global average pool, one linear layer; ~45k weights), only ops OpenCV 4.6
reads: Conv, BatchNormalization, Relu, MaxPool, GlobalAveragePool, Flatten, Gemm. CPU, a few minutes.
Needs python3-torch, python3-numpy, python3-opencv (Debian 12).
"""

import argparse
import csv
import glob
import os
import random

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = ["person", "vehicle", "two_wheeler", "other"]
SIDE = 64


def class_crop(img, x, y, w, h, side=SIDE):
    """The square around the box (its longer side and a tenth more), edges replicated: as ClassCrop."""
    s = max(1, int(max(w, h) * 1.1))
    cx, cy = x + w // 2, y + h // 2
    x0, y0 = cx - s // 2, cy - s // 2
    pad = s
    big = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    crop = big[y0 + pad:y0 + pad + s, x0 + pad:x0 + pad + s]
    interp = cv2.INTER_AREA if s > side else cv2.INTER_LINEAR
    return cv2.resize(crop, (side, side), interpolation=interp)


def person_crops(dirname):
    rows = list(csv.DictReader(open(os.path.join(dirname, "crops.csv"))))
    by_track = {}
    for r in rows:
        by_track.setdefault(r["track"], []).append(r)
    out = []
    for rs in by_track.values():
        keep = rs[: max(1, int(len(rs) * 0.9))]
        for r in keep:
            if r["cut"] == "1":
                continue
            out.append(cv2.imread(os.path.join(dirname, r["file"])))
    return out


def vehicle_crops(ccpd_dir, rng):
    out = []
    with open(os.path.join(ccpd_dir, "labels.csv"), encoding="utf-8") as f:
        for r in csv.DictReader(f):
            img = cv2.imread(os.path.join(ccpd_dir, r["file"]))
            if img is None:
                continue
            x0, y0, x1, y1 = (int(v) for v in r["bbox_x0y0x1y1"].split(","))
            pw = x1 - x0
            # A car is about 4.5 plate widths wide; its body rises above the plate.
            for _ in range(3):
                w = pw * rng.uniform(3.8, 5.5)
                cx = (x0 + x1) / 2 + rng.uniform(-0.15, 0.15) * w
                cy = (y0 + y1) / 2 - rng.uniform(0.1, 0.3) * w
                out.append(class_crop(img, int(cx - w / 2), int(cy - w / 2), int(w), int(w)))
    return out


def background_crops(video, rng, count):
    cap = cv2.VideoCapture(video)
    frames = []
    n = 0
    while True:
        ok, f = cap.read()
        if not ok:
            break
        if n % 8 == 0:
            frames.append(f)
        n += 1
    if not frames:
        raise SystemExit(f"{video}: no frames")
    bg = np.median(np.stack(frames), axis=0).astype(np.uint8)
    h, w = bg.shape[:2]
    out = []
    for _ in range(count):
        s = int(rng.uniform(0.05, 0.5) * h)
        x = rng.randrange(0, w - s)
        y = rng.randrange(0, h - s)
        bw = int(s * rng.uniform(0.3, 1.0))
        out.append(class_crop(bg, x + (s - bw) // 2, y, bw, s))
    return out


def conv(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ClassNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(conv(3, 16), nn.MaxPool2d(2), conv(16, 32), nn.MaxPool2d(2),
                                      conv(32, 64), nn.MaxPool2d(2), conv(64, 64))
        self.head = nn.Linear(64, len(CLASSES))

    def forward(self, x):
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(x)


def augment(img, rng):
    # Scale and shift (track boxes are loose), mirror, light, blur, compression-like softness.
    s = rng.uniform(0.8, 1.15)
    m = cv2.getRotationMatrix2D((SIDE / 2, SIDE / 2), rng.uniform(-8, 8), s)
    m[:, 2] += [rng.uniform(-6, 6), rng.uniform(-6, 6)]
    img = cv2.warpAffine(img, m, (SIDE, SIDE), borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < 0.5:
        img = img[:, ::-1]
    img = img.astype(np.float32) * rng.uniform(0.6, 1.4) + rng.uniform(-30, 30)
    if rng.random() < 0.3:
        g = img.mean(axis=2, keepdims=True)
        img = np.repeat(g, 3, axis=2)
    if rng.random() < 0.4:
        k = rng.choice([3, 5])
        img = cv2.GaussianBlur(img, (k, k), 0)
    if rng.random() < 0.3:
        small = cv2.resize(img, (SIDE // 3, SIDE // 3), interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (SIDE, SIDE), interpolation=cv2.INTER_LINEAR)
    return np.clip(img, 0, 255)


def tensor(batch):
    return torch.from_numpy(np.stack(batch).transpose(0, 3, 1, 2).astype(np.float32) / 255.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--person-crops", required=True)
    ap.add_argument("--ccpd", required=True)
    ap.add_argument("--background", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))

    data = {0: person_crops(args.person_crops), 1: vehicle_crops(args.ccpd, rng)}
    data[3] = background_crops(args.background, rng, max(len(data[0]), len(data[1])))
    for k, v in data.items():
        print(f"{CLASSES[k]}: {len(v)} crops")

    net = ClassNet()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=args.steps)
    batch = 96
    kinds = sorted(data)
    for step in range(args.steps):
        xs, ys = [], []
        for _ in range(batch):
            k = kinds[rng.randrange(len(kinds))]  # balanced classes
            xs.append(augment(data[k][rng.randrange(len(data[k]))], rng))
            ys.append(k)
        net.train()
        loss = F.cross_entropy(net(tensor(xs)), torch.tensor(ys))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 250 == 0 or step == args.steps - 1:
            print(f"step {step} loss {loss.item():.3f}", flush=True)
    net.eval()
    torch.onnx.export(net, torch.zeros(1, 3, SIDE, SIDE), args.out, input_names=["crop"],
                      output_names=["logits"], opset_version=11, do_constant_folding=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
