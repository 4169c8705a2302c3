#!/usr/bin/env python3
"""Trains vigil's plate reader and exports it as ONNX for OpenCV's dnn module.

    tools/plates/train.py --train DIR --val DIR --out samples/models/plate_reader.onnx

DIR is a data set written by vigil-plategen (images.u8 + labels.tsv). The network is a small fully
convolutional CRNN without recurrence (LPRNet-like): a 32x128 BGR crop in, per-column character
scores out (CTC over the plate alphabet, blank first), plus a plate-colour head. Only ops that
OpenCV 4.6 reads: Conv, BatchNorm (folded), Relu, MaxPool, GlobalAveragePool, Flatten, Gemm, Mul, Add.

Reproducing the committed weights: tools/plates/train (generates the data with the same seeds, then
runs this script with the same arguments). Needs python3-torch (Debian 12: 1.13) and numpy.
"""

import argparse
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# Must match vigil::plate::PlateAlphabet() (base/plate_format.cpp); class 0 is the CTC blank.
ALPHABET = ("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
            "ABCDEFGHJKLMNPQRSTUVWXYZ" "0123456789" "挂学警使领港澳")
COLORS = ["blue", "yellow", "green", "white", "black"]
HEIGHT, WIDTH = 32, 128
MAX_LEN = 8


def load(dirname):
    rows = []
    with open(os.path.join(dirname, "labels.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("index") or line.startswith("#"):
                continue
            p = line.rstrip("\n").split("\t")
            rows.append((p[1], p[2], p[3], p[4]))
    images = np.memmap(os.path.join(dirname, "images.u8"), dtype=np.uint8, mode="r",
                       shape=(len(rows), HEIGHT, WIDTH, 3))
    targets = np.zeros((len(rows), MAX_LEN), dtype=np.int64)
    lengths = np.zeros(len(rows), dtype=np.int64)
    colors = np.zeros(len(rows), dtype=np.int64)
    for i, (text, color, _, _) in enumerate(rows):
        ids = [ALPHABET.index(c) + 1 for c in text]
        targets[i, :len(ids)] = ids
        lengths[i] = len(ids)
        colors[i] = COLORS.index(color)
    return images, targets, lengths, colors, rows


def conv(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class PlateNet(nn.Module):
    def __init__(self, classes=len(ALPHABET) + 1, colors=len(COLORS)):
        super().__init__()
        self.features = nn.Sequential(
            conv(3, 24), nn.MaxPool2d(2),                      # 16 x 64
            conv(24, 48), nn.MaxPool2d(2),                     # 8 x 32
            conv(48, 80), conv(80, 80), nn.MaxPool2d((2, 1)),  # 4 x 32
            conv(80, 112), nn.MaxPool2d((2, 1)),               # 2 x 32
        )
        self.column = nn.Sequential(nn.Conv2d(112, 192, (2, 3), padding=(0, 1), bias=False),
                                    nn.BatchNorm2d(192), nn.ReLU(inplace=True), nn.Dropout(0.1))
        self.chars = nn.Conv2d(192, classes, 1)                # N x C x 1 x 32
        self.color = nn.Linear(112, colors)

    def forward(self, x):
        x = x * (1.0 / 128.0) + (-1.0)  # raw 0..255 BGR in, as OpenCV hands it over
        f = self.features(x)
        chars = self.chars(self.column(f))
        color = self.color(torch.flatten(F.adaptive_avg_pool2d(f, 1), 1))
        return chars, color


def load_onnx(model, path):
    """Starts `model` from exported weights (BatchNorm was folded into the convolutions on export):
    each convolution gets the folded kernel, its BatchNorm becomes the identity carrying the folded
    bias. Read with OpenCV's dnn module (python3-opencv), which vigil itself runs them with."""
    import cv2
    net = cv2.dnn.readNetFromONNX(path)
    convs = [(model.features[0], "features/features.0/features.0.0"),
             (model.features[2], "features/features.2/features.2.0"),
             (model.features[4], "features/features.4/features.4.0"),
             (model.features[5], "features/features.5/features.5.0"),
             (model.features[7], "features/features.7/features.7.0"),
             (model.column, "column/column.0")]

    def param(name, k):
        return torch.from_numpy(net.getParam(net.getLayerId(f"onnx_node!/{name}"), k).copy())

    with torch.no_grad():
        for seq, name in convs:
            conv, bn = seq[0], seq[1]
            conv.weight.copy_(param(name + "/Conv", 0))
            bn.weight.fill_(1.0)
            bn.bias.copy_(param(name + "/Conv", 1).flatten())
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
        model.chars.weight.copy_(param("chars/Conv", 0))
        model.chars.bias.copy_(param("chars/Conv", 1).flatten())
        model.color.weight.copy_(param("color/Gemm", 0))
        model.color.bias.copy_(param("color/Gemm", 1).flatten())


def set_training(model, freeze_bn):
    """Training mode; with `freeze_bn` the BatchNorm layers keep their statistics (fine-tuning a
    model whose statistics were folded away) and learn only their scale and shift."""
    model.train()
    if freeze_bn:
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()


def decode(chars):
    """Greedy CTC: best class per column, repeats merged, blanks dropped."""
    best = chars.argmax(1).squeeze(1).cpu().numpy()  # N x T
    out = []
    for row in best:
        s, prev = [], 0
        for k in row:
            if k != prev and k != 0:
                s.append(ALPHABET[k - 1])
            prev = k
        out.append("".join(s))
    return out


def evaluate(model, data, batch=512, freeze_bn=False):
    images, targets, lengths, colors, rows = data
    model.eval()
    exact = color_ok = 0
    by_kind = {}
    with torch.no_grad():
        for s in range(0, len(rows), batch):
            x = torch.from_numpy(np.ascontiguousarray(images[s:s + batch])).permute(0, 3, 1, 2).float()
            chars, color = model(x)
            texts = decode(chars)
            cols = color.argmax(1).numpy()
            for j, t in enumerate(texts):
                text, cname, kind, difficulty = rows[s + j]
                ok = t == text
                exact += ok
                color_ok += COLORS[cols[j]] == cname
                for key in (kind, difficulty):
                    a = by_kind.setdefault(key, [0, 0])
                    a[0] += ok
                    a[1] += 1
    set_training(model, freeze_bn)
    n = len(rows)
    return exact / n, color_ok / n, {k: v[0] / v[1] for k, v in sorted(by_kind.items())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True, action="append",
                    help="a data set, DIR, DIR:REPEAT (drawn REPEAT times as often) or DIR:REPEAT:KIND+KIND "
                         "(only crops of those kinds, e.g. green_small+green_large); may be repeated")
    ap.add_argument("--val", required=True, action="append", help="a validation set; may be repeated")
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=float, default=4)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--checkpoint", default="")
    ap.add_argument("--eval-every", type=int, default=2000)
    ap.add_argument("--warmup", type=float, default=0.15, help="share of the steps the learning rate rises")
    ap.add_argument("--init", default="", help="start from these weights (a --checkpoint file)")
    ap.add_argument("--init-onnx", default="", help="start from exported weights (BatchNorm then frozen)")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    sets = []  # (data, repeat, the crops of the set used)
    for spec in args.train:
        d, _, rest = spec.partition(":")
        rep, _, kinds = rest.partition(":")
        data = load(d)
        keep = np.arange(len(data[4]))
        if kinds:
            wanted = set(kinds.split("+"))
            absent = wanted - {r[2] for r in data[4]}
            if absent:
                raise SystemExit(f"train set {d}: no crop of the kind(s) {'+'.join(sorted(absent))}")
            keep = np.array([i for i, r in enumerate(data[4]) if r[2] in wanted], dtype=np.int64)
        sets.append((data, int(rep) if rep else 1, keep))
        print(f"train set {d}: {len(keep)} crops{' of ' + kinds if kinds else ''}, drawn x{sets[-1][1]}",
              flush=True)
    vals = [(v, load(v)) for v in args.val]
    # One virtual index space: set k holds n_k * repeat_k slots (n_k: the crops kept), slot j is its
    # kept crop j % n_k.
    sizes = [len(keep) * rep for _, rep, keep in sets]
    offsets = np.cumsum([0] + sizes)
    n = int(offsets[-1])
    steps = int(math.ceil(args.epochs * n / args.batch))

    def batch_of(virtual):
        xs, tgs, tls, cols = [], [], [], []
        for k, (d, rep, keep) in enumerate(sets):
            sel = virtual[(virtual >= offsets[k]) & (virtual < offsets[k + 1])] - offsets[k]
            if len(sel) == 0:
                continue
            local = np.sort(keep[sel % len(keep)])
            xs.append(torch.from_numpy(np.ascontiguousarray(d[0][local])))
            tgs.append(torch.from_numpy(d[1][local]))
            tls.append(torch.from_numpy(d[2][local]))
            cols.append(torch.from_numpy(d[3][local]))
        return (torch.cat(xs).permute(0, 3, 1, 2).float(), torch.cat(tgs), torch.cat(tls), torch.cat(cols))

    model = PlateNet()
    freeze_bn = False
    if args.init:
        model.load_state_dict(torch.load(args.init))
        print(f"starting from {args.init}", flush=True)
    elif args.init_onnx:
        load_onnx(model, args.init_onnx)
        freeze_bn = True
        print(f"starting from {args.init_onnx} (BatchNorm statistics frozen)", flush=True)
    set_training(model, freeze_bn)
    for name, val in vals:
        acc, cacc, _ = evaluate(model, val, freeze_bn=freeze_bn)
        print(f"val {name} before training: exact {acc:.4f} colour {cacc:.4f}", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=args.warmup)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(n)
    pos = 0
    t0 = time.time()
    print(f"training on {n} crops, {steps} steps of {args.batch}, {args.threads} threads", flush=True)
    for step in range(steps):
        if pos + args.batch > n:
            order = rng.permutation(n)
            pos = 0
        idx = order[pos:pos + args.batch]
        pos += args.batch
        x, tg, tl, col = batch_of(idx)
        chars, color = model(x)
        logp = F.log_softmax(chars.squeeze(2), 1).permute(2, 0, 1)  # T x N x C
        loss = ctc(logp, tg, torch.full((len(idx),), logp.shape[0], dtype=torch.long), tl)
        loss = loss + 0.3 * F.cross_entropy(color, col)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 200 == 0 or step == steps - 1:
            print(f"step {step}/{steps} loss {loss.item():.4f} lr {sched.get_last_lr()[0]:.5f} "
                  f"{time.time() - t0:.0f}s", flush=True)
        if (step + 1) % args.eval_every == 0 or step == steps - 1:
            for name, val in vals:
                acc, cacc, parts = evaluate(model, val, freeze_bn=freeze_bn)
                print(f"val {name}: exact {acc:.4f} colour {cacc:.4f} " +
                      " ".join(f"{k}={v:.3f}" for k, v in parts.items()), flush=True)
            if args.checkpoint:
                torch.save(model.state_dict(), args.checkpoint)

    model.eval()
    dummy = torch.zeros(1, 3, HEIGHT, WIDTH)
    torch.onnx.export(model, dummy, args.out, opset_version=11, input_names=["crop"],
                      output_names=["chars", "color"], do_constant_folding=True)
    print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()
