#!/usr/bin/env python3
"""Trains vigil's plate corner network: given a loose quadrilateral around a plate (what the
finder's colour and edge detectors give), it returns the plate's four corners.

    tools/plates/train_corners.py --photos ../shared/data/plates-real-ccpd \
        --split tools/plates/real/ccpd-split.csv --out samples/models/plate_corners.onnx

The input is the region around the loose quad, warped to 40x128 (BGR): the quad's own frame grown by
MARGIN_X of its width on each side and MARGIN_Y of its height above and below, which is what
analytics/plate_finder.cpp computes (RefineCorners). The output is the eight coordinates of the
plate's corners (top-left, top-right, bottom-right, bottom-left) in that crop, as fractions of its
width and height. Trained on the real CCPD photographs' labelled corners (training split only, by
plate text, tools/plates/real/ccpd-split.csv), each seen through many loose quads drawn like the
finder's errors (upright boxes, rotated rectangles, jittered corners, shifted, too large or small),
at plate widths 50-400 px, with light, colour (hue turned so blue plates also teach yellow, green,
white and black ones), blur, noise and JPEG. Validation: the same on the validation split.
Exports ONNX opset 11 with Conv, BatchNorm, Relu, MaxPool, Flatten, Gemm only (OpenCV dnn).
"""
import argparse
import csv
import os
import random
import time

import cv2
import numpy as np
import torch
import torch.nn as nn

H, W = 40, 128
# Must match kCornerMarginX / kCornerMarginY in analytics/plate_finder.cpp.
MARGIN_X, MARGIN_Y = 0.2, 0.5


def load(photos_dir, split_csv, subset):
    wanted = set()
    with open(split_csv, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["split"] == subset:
                wanted.add(row["file"])
    out = []
    with open(os.path.join(photos_dir, "labels.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["file"] not in wanted:
                continue
            pts = [tuple(float(v) for v in p.split(",")) for p in row["corners_rb_lb_lt_rt"].split(";")]
            rb, lb, lt, rt = pts
            img = cv2.imread(os.path.join(photos_dir, row["file"]), cv2.IMREAD_COLOR)
            if img is None:
                continue
            out.append((img, np.array([lt, rt, rb, lb], np.float32)))
    return out


def unit_to_quad(quad):
    """Homography from the unit square (0,0),(1,0),(1,1),(0,1) to quad."""
    src = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    return cv2.getPerspectiveTransform(src, quad.astype(np.float32))


def apply_h(h, pts):
    p = cv2.perspectiveTransform(pts.reshape(-1, 1, 2).astype(np.float64), h)
    return p.reshape(-1, 2).astype(np.float32)


def expanded(quad):
    h = unit_to_quad(quad)
    u = np.array([[-MARGIN_X, -MARGIN_Y], [1 + MARGIN_X, -MARGIN_Y], [1 + MARGIN_X, 1 + MARGIN_Y],
                  [-MARGIN_X, 1 + MARGIN_Y]], np.float32)
    return apply_h(h, u)


def rectify(img, quad, size=(W, H)):
    """As analytics::RectifyQuad: area-prefiltered when the quad is much larger than the output."""
    ow, oh = size
    w = max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3]))
    h = max(np.linalg.norm(quad[3] - quad[0]), np.linalg.norm(quad[2] - quad[1]))
    s = max(2.0 * ow / max(1.0, w), 2.0 * oh / max(1.0, h))
    src = quad.astype(np.float32).copy()
    pre = np.eye(3)  # picture -> the picture warped from
    if s < 0.8:
        x0, y0 = np.floor(src.min(0)).astype(int) - 2
        x1, y1 = np.ceil(src.max(0)).astype(int) + 2
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(img.shape[1], x1), min(img.shape[0], y1)
        if x1 > x0 and y1 > y0:
            img = cv2.resize(img[y0:y1, x0:x1], None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
            src = (src - np.array([x0, y0], np.float32)) * s
            pre = np.array([[s, 0, -x0 * s], [0, s, -y0 * s], [0, 0, 1]])
    dst = np.array([[0, 0], [ow, 0], [ow, oh], [0, oh]], np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(img, m, (ow, oh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), m @ pre


def loose_quad(true, rng):
    """A detector's loose quad around the true corners."""
    c = true.mean(0)
    w = np.linalg.norm(true[1] - true[0])
    h = np.linalg.norm(true[3] - true[0])
    kind = rng.random()
    if kind < 0.3:  # upright bounding box
        x0, y0 = true.min(0)
        x1, y1 = true.max(0)
        q = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
    elif kind < 0.55:  # rotated rectangle (minAreaRect)
        r = cv2.minAreaRect(true.astype(np.float32))
        p = cv2.boxPoints(r)
        p = p[np.argsort(p[:, 1])]
        top, bot = p[:2], p[2:]
        top = top[np.argsort(top[:, 0])]
        bot = bot[np.argsort(-bot[:, 0])]
        q = np.array([top[0], top[1], bot[0], bot[1]], np.float32)
    else:  # the plate itself, corners jittered
        q = true.copy()
        q += (rng.normal(0, 1, (4, 2)) * np.array([0.04 * w, 0.12 * h])).astype(np.float32)
    # Whole-quad errors: scale, shift, a little rotation.
    sx, sy = rng.uniform(0.85, 1.2), rng.uniform(0.75, 1.45)
    ang = np.deg2rad(rng.normal(0, 3))
    ux = (q[1] - q[0]) / max(1e-3, np.linalg.norm(q[1] - q[0]))
    uy = np.array([-ux[1], ux[0]], np.float32)
    d = q - c
    x, y = d @ ux, d @ uy
    x, y = x * sx, y * sy
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]], np.float32)
    d = (np.outer(x, ux) + np.outer(y, uy)) @ rot.T
    shift = rng.normal(0, 1, 2) * np.array([0.05 * w, 0.12 * h])
    return (c + d + shift).astype(np.float32)


def recolour(img, rng):
    """Light, colour balance, and sometimes the hue turned (blue plates as yellow or green ones) or
    the picture inverted in brightness (light-on-dark as dark-on-light, as white and black plates)."""
    img = img.astype(np.float32)
    if rng.random() < 0.35:
        hsv = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_BGR2HSV).astype(np.int32)
        hsv[..., 0] = (hsv[..., 0] + rng.choice([-80, -70, -45, -35, 60])) % 180
        img = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR).astype(np.float32)
    if rng.random() < 0.1:
        img = 255 - img
    img = img * rng.uniform(0.5, 1.4) + rng.uniform(-40, 30)
    img = img * rng.uniform(0.85, 1.15, 3)
    return np.clip(img, 0, 255).astype(np.uint8)


def degrade(crop, rng):
    if rng.random() < 0.4:
        k = rng.choice([3, 5])
        crop = cv2.GaussianBlur(crop, (k, k), rng.uniform(0.5, 1.5))
    if rng.random() < 0.3:
        crop = np.clip(crop.astype(np.float32) + rng.normal(0, rng.uniform(2, 12), crop.shape), 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        ok, enc = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, int(rng.uniform(25, 90))])
        crop = cv2.imdecode(enc, cv2.IMREAD_COLOR)
    return crop


def sample(img, true, rng, augment=True):
    """One training pair: the crop around a loose quad, and the true corners in it (fractions)."""
    w = np.linalg.norm(true[1] - true[0])
    if augment:
        target_w = rng.uniform(50, 400)
        s = min(1.0, target_w / w)
        if s < 0.95:
            # The whole neighbourhood scaled as a farther camera would see it.
            c = true.mean(0)
            r = int(3 * w)
            x0, y0 = max(0, int(c[0] - r)), max(0, int(c[1] - r))
            x1, y1 = min(img.shape[1], int(c[0] + r)), min(img.shape[0], int(c[1] + r))
            img = cv2.resize(img[y0:y1, x0:x1], None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
            true = (true - np.array([x0, y0], np.float32)) * s
    q = loose_quad(true, rng)
    crop, m = rectify(img, expanded(q))
    t = apply_h(m, true) / np.array([W, H], np.float32)
    if augment:
        crop = degrade(recolour(crop, rng), rng)
    return crop, t.reshape(-1)


def make_set(photos, n_per, seed, augment=True):
    rng = np.random.default_rng(seed)
    xs = np.zeros((len(photos) * n_per, H, W, 3), np.uint8)
    ys = np.zeros((len(photos) * n_per, 8), np.float32)
    k = 0
    for img, true in photos:
        for _ in range(n_per):
            xs[k], ys[k] = sample(img, true, rng, augment)
            k += 1
    return xs, ys


def conv(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class CornerNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            *conv(3, 16), nn.MaxPool2d(2),        # 20x64
            *conv(16, 32), nn.MaxPool2d(2),       # 10x32
            *conv(32, 48), *conv(48, 48), nn.MaxPool2d(2),  # 5x16
            *conv(48, 64), nn.MaxPool2d(2),       # 2x8
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(64 * 2 * 8, 128), nn.ReLU(), nn.Linear(128, 8))

    def forward(self, x):
        return self.head(self.features(x))


def to_tensor(xs):
    return torch.from_numpy(xs).permute(0, 3, 1, 2).float().div(255.0)


def quad_iou(a, b):
    a = a.reshape(4, 2).astype(np.float32)
    b = b.reshape(4, 2).astype(np.float32)
    ia, _ = cv2.intersectConvexConvex(a, b)
    ua = cv2.contourArea(a) + cv2.contourArea(b) - ia
    return ia / ua if ua > 0 else 0.0


def evaluate(model, xs, ys):
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(to_tensor(xs[i:i + 512])) for i in range(0, len(xs), 512)]).numpy()
    scale = np.array([W, H] * 4, np.float32)
    ious = np.array([quad_iou(p * scale, y * scale) for p, y in zip(pred, ys)])
    before = np.array([quad_iou(np.array([[MARGIN_X / (1 + 2 * MARGIN_X), MARGIN_Y / (1 + 2 * MARGIN_Y)],
                                          [(1 + MARGIN_X) / (1 + 2 * MARGIN_X), MARGIN_Y / (1 + 2 * MARGIN_Y)],
                                          [(1 + MARGIN_X) / (1 + 2 * MARGIN_X), (1 + MARGIN_Y) / (1 + 2 * MARGIN_Y)],
                                          [MARGIN_X / (1 + 2 * MARGIN_X), (1 + MARGIN_Y) / (1 + 2 * MARGIN_Y)]]) * scale[:2],
                                y * scale) for y in ys])
    return ious.mean(), (ious >= 0.7).mean(), (ious >= 0.8).mean(), before.mean(), (before >= 0.7).mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", required=True)
    ap.add_argument("--split", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-photo", type=int, default=80, help="training views of each photo")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    t0 = time.time()
    train = load(args.photos, args.split, "train")
    val = load(args.photos, args.split, "val")
    xs, ys = make_set(train, args.per_photo, args.seed)
    vx, vy = make_set(val, 10, 1000 + args.seed, augment=False)
    print(f"{len(train)} training photos -> {len(xs)} views, {len(val)} validation photos -> {len(vx)} "
          f"views ({time.time() - t0:.0f} s)", flush=True)
    model = CornerNet()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = args.epochs * (len(xs) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.15)
    loss_fn = nn.SmoothL1Loss(beta=0.02)
    rng = np.random.default_rng(args.seed)
    step = 0
    for epoch in range(args.epochs):
        model.train()
        order = rng.permutation(len(xs))
        total = 0.0
        for i in range(0, len(order) - args.batch + 1, args.batch):
            idx = order[i:i + args.batch]
            x = to_tensor(xs[idx])
            y = torch.from_numpy(ys[idx])
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            total += loss.item()
        m, a7, a8, b, b7 = evaluate(model, vx, vy)
        print(f"epoch {epoch + 1}: loss {total / max(1, len(order) // args.batch):.5f}; validation mean IoU "
              f"{b:.3f} -> {m:.3f}, IoU >= 0.7 {100 * b7:.1f} -> {100 * a7:.1f} %, >= 0.8 {100 * a8:.1f} % "
              f"({time.time() - t0:.0f} s)", flush=True)
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 3, H, W), args.out, opset_version=11, input_names=["crop"],
                      output_names=["corners"])
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
