#!/usr/bin/python3
"""Writes test/fixtures/lungmask/: the reference the TypeScript lungmask R231 port is tested against.

Run with Debian's Python (torch 1.13, numpy, scipy, scikit-image):
    apt-get install -y python3-torch python3-scipy python3-skimage
    /usr/bin/python3 scripts/make-lungmask-fixtures.py

lungmask's official weights cannot be downloaded here, so the fixtures use the R231 U-Net
with the exact architecture and state_dict key names (including the unused residual tensors
and int64 num_batches_tracked) but narrow layers, random seeded weights and BatchNorm running
statistics calibrated on the input and then perturbed. The pre- and post-processing below
follow docs/lungmask-r231.md (lungmask 0.2.20 behaviour, including its scipy/skimage quirks);
they are written for this script, not copied from lungmask.

Outputs (all little-endian, raw arrays gzip-compressed, C order):
  r231-tiny.pth / r231-tiny-legacy.pth   3-class network, zip and legacy torch.save formats
  lobes-tiny-legacy.pth                  6-class (LTRCLobes-like) network
  ct.i16.raw.gz                          synthetic CT, int16 HU, [nz][ny][nx] as stored
  preprocessed.i16.raw.gz                per slice: clipped, body-cropped, 256x256 int16
  r231-probabilities.f32.raw.gz          softmax on a pixel subset, [slice][class][y][x]
  r231-argmax.u8.raw.gz                  argmax at 256x256, [slice][y][x]
  r231-postprocessed.u8.raw.gz           after post-processing, 256x256
  r231-labels.u8.raw.gz                  final labels in the CT's stored geometry
  lobes-*.raw.gz                         the same for the 6-class network
  pth-cases.pth / pth-cases-legacy.pth   dtype / stride / shared-storage cases for the reader
  pth-cases.json                         their expected values
  scipy-zoom.json                        scipy.ndimage.zoom index maps, incl. its edge quirk
  reference.json                         geometry, body boxes, counts, tolerances
"""
import collections
import gzip
import json
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi
import skimage.measure
import skimage.morphology
import torch
import torch.nn.functional as F
from torch import nn

OUT = Path(__file__).resolve().parent.parent / 'test' / 'fixtures' / 'lungmask'

# ---------------------------------------------------------------- network (R231 architecture)


class ConvBlock(nn.Module):
    """Conv3x3 -> ReLU -> BN -> Conv3x3 -> ReLU -> BN. The residual tensors exist in the
    released weights but the forward pass of the non-residual U-Net never uses them."""

    def __init__(self, cin, cout):
        super().__init__()
        self.residual_input_conv = nn.Conv2d(cin, cout, kernel_size=1)
        self.residual_batchnorm = nn.BatchNorm2d(cout)
        self.block = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(cout),
            nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(cout))

    def forward(self, x):
        return self.block(x)


class UpBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.residual_input_conv = nn.Conv2d(cin, cout, kernel_size=1)
        self.residual_batchnorm = nn.BatchNorm2d(cout)
        self.up = nn.Sequential(nn.Upsample(mode='bilinear', scale_factor=2, align_corners=False),
                                nn.Conv2d(cin, cout, kernel_size=1))
        self.conv_block = ConvBlock(cin, cout)

    def forward(self, x, skip):
        return self.conv_block(torch.cat([self.up(x), skip], 1))


class R231Net(nn.Module):
    def __init__(self, classes, widths):
        super().__init__()
        self.down_path = nn.ModuleList()
        prev = 1
        for w in widths:
            self.down_path.append(ConvBlock(prev, w))
            prev = w
        self.up_path = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.up_path.append(UpBlock(prev, w))
            prev = w
        self.last = nn.Conv2d(prev, classes, kernel_size=1)

    def forward(self, x):
        skips = []
        for i, down in enumerate(self.down_path):
            x = down(x)
            if i < len(self.down_path) - 1:
                skips.append(x)
                x = F.avg_pool2d(x, 2)
        for i, up in enumerate(self.up_path):
            x = up(x, skips[-i - 1])
        return F.log_softmax(self.last(x), dim=1)


def train_network(classes, widths, x, targets, seed, steps):
    """Trains the narrow network on the fixture itself, so that it segments lung-like regions
    (a random network labels nearly every pixel alike, which exercises nothing). Training
    mode leaves data-derived BatchNorm running statistics and num_batches_tracked = steps."""
    torch.manual_seed(seed)
    net = R231Net(classes, widths)
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    xt = torch.from_numpy(x[:, None])
    yt = torch.from_numpy(targets.astype(np.int64))
    net.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = F.nll_loss(net(xt), yt)
        loss.backward()
        opt.step()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, m in net.named_modules():
            if name.endswith('residual_batchnorm'):  # unused by the forward pass; non-trivial anyway
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
    net.eval()
    return net, float(loss)


def features(net, x):
    """Input of the final 1x1 conv, in float64."""
    captured = {}
    hook = net.last.register_forward_hook(lambda m, i, o: captured.setdefault('f', i[0]))
    with torch.no_grad():
        net.double()(torch.from_numpy(x[:, None]).double())
    hook.remove()
    net.float()
    return captured['f'].numpy()


def secure_margin(net, x, seed):
    """Nudges last.bias (by < 0.02) until, at every pixel, the gap between the two most likely
    classes exceeds 1e-4 plus 20x that pixel's float32 rounding error of the gap (float32 vs
    float64 forward pass), so the argmax cannot flip between PyTorch and ONNX Runtime.
    Returns the smallest gap and the largest per-pixel error."""
    with torch.no_grad():
        lp32 = net(torch.from_numpy(x[:, None])).numpy().astype(np.float64)
        lp64 = net.double()(torch.from_numpy(x[:, None]).double()).numpy()
    net.float()
    ranked = np.argsort(lp64, axis=1)[:, -2:]
    gap_of = lambda lp: (np.take_along_axis(lp, ranked[:, 1:], 1) - np.take_along_axis(lp, ranked[:, :1], 1))[:, 0]
    err = np.abs(gap_of(lp32) - gap_of(lp64))
    f = features(net, x)
    w = net.last.weight.detach().double().numpy()[:, :, 0, 0]
    b0 = net.last.bias.detach().double().numpy()
    logits0 = np.einsum('kc,nchw->nkhw', w, f)
    rng = np.random.default_rng(seed)
    for attempt in range(1000):
        b = b0 + (0 if attempt == 0 else rng.uniform(-0.02, 0.02, b0.shape))
        top2 = np.sort(logits0 + b[None, :, None, None], axis=1)[:, -2:]
        gap = top2[:, 1] - top2[:, 0]
        if (gap > 1e-4 + 20 * err).all():
            with torch.no_grad():
                net.last.bias.copy_(torch.from_numpy(b).float())
            return float(gap.min()), float(err.max())
    raise SystemExit('no bias nudge gives a safe argmax margin')


# ---------------------------------------------------------------- synthetic CT


def synthetic_ct(nz=3, ny=160, nx=192, seed=7):
    """A chest-like CT in HU, in LPS array order [z][y][x] (x -> patient left, y -> posterior):
    body ellipse with a fat rim, two lungs at about -850 HU (right lung at low x), trachea,
    spine, a metal bead above 600 HU, a table separated from the body, and a circular field of
    view with -2048 outside (values below -1024)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:ny, 0:nx].astype(np.float64)
    vol = np.empty((nz, ny, nx), np.float64)
    lungs = np.zeros((nz, ny, nx), np.uint8)
    for z in range(nz):
        s = vol[z]
        s[:] = -1000 + 10 * rng.standard_normal((ny, nx))
        body = ((x - 96) / 80) ** 2 + ((y - 74) / 56) ** 2 <= 1
        inner = ((x - 96) / 72) ** 2 + ((y - 74) / 49) ** 2 <= 1
        s[body] = -90 + 15 * rng.standard_normal(body.sum())
        s[inner] = 40 + 15 * rng.standard_normal(inner.sum())
        grow = 1 + 0.08 * z
        for label, cx, a in ((1, 62, 25), (2, 131, 23)):
            lung = ((x - cx) / (a * grow)) ** 2 + ((y - 72) / (36 * grow)) ** 2 <= 1
            s[lung] = -850 + 30 * rng.standard_normal(lung.sum())
            lungs[z][lung] = label
        vessel = ((x - 60) ** 2 + (y - 70) ** 2) <= 9  # a hole in the right lung's mask
        s[vessel] = 30
        lungs[z][vessel] = 0
        s[((x - 96) ** 2 + (y - 46) ** 2) <= 25] = -1000 + 10 * rng.standard_normal()  # trachea
        s[((x - 96) ** 2 + (y - 112) ** 2) <= 90] = 420 + 30 * rng.standard_normal()  # spine
        s[((x - 96) ** 2 + (y - 22) ** 2) <= 4] = 3000  # metal bead, clipped to 600
        s[(y >= 140) & (y < 145) & (x >= 12) & (x < 180)] = 150 + 10 * rng.standard_normal()  # table
        s[((x - 95.5) ** 2 + (y - 79.5) ** 2) > 100 ** 2] = -2048  # outside the field of view
    return np.round(vol).astype(np.int16), lungs


def lobes_from_lungs(lungs):
    """LTRCLobes-like labels: 1 left upper, 2 left lower, 3 right upper, 4 right middle, 5 right lower."""
    y = np.arange(lungs.shape[1])[None, :, None]
    out = np.zeros_like(lungs)
    out[(lungs == 2) & (y < 74)] = 1
    out[(lungs == 2) & (y >= 74)] = 2
    out[(lungs == 1) & (y < 62)] = 3
    out[(lungs == 1) & (y >= 62) & (y < 86)] = 4
    out[(lungs == 1) & (y >= 86)] = 5
    return out


def to_stored(lps, direction):
    """LPS array -> the array as stored with the given (flip-only) direction."""
    flips = [ax for ax, d in zip((2, 1, 0), np.diag(np.asarray(direction).reshape(3, 3))) if d < 0]
    return np.flip(lps, flips).copy() if flips else lps.copy()


# ---------------------------------------------------------------- lungmask pre-processing


def zoom_to(img, shape, order):
    """scipy.ndimage.zoom to an exact output shape, as lungmask calls it (mode 'constant')."""
    return ndi.zoom(img, np.asarray(shape) / np.asarray(img.shape), order=order)


def body_mask(slice_hu):
    small = zoom_to(slice_hu, (128, 128), order=0)
    mask = small > -500
    mask = ndi.binary_closing(mask)
    mask = ndi.binary_fill_holes(mask, structure=np.ones((3, 3)))
    mask = ndi.binary_erosion(mask, iterations=2)
    comps = skimage.measure.label(mask.astype(int), connectivity=1)
    if comps.max() > 0:
        sizes = np.bincount(comps.ravel())[1:]
        mask = comps == (int(np.argmax(sizes)) + 1)  # ties: first in raster order
        mask = ndi.binary_dilation(mask, iterations=2)
    else:
        mask = np.zeros_like(mask)
    return zoom_to(mask, slice_hu.shape, order=0)


def body_box(mask):
    """Box (y0, x0, y1, x1), end exclusive, of the first 8-connected component in raster order."""
    comps = skimage.measure.label(mask.astype(int), connectivity=2)
    if comps.max() == 0:
        return (0, 0, mask.shape[0], mask.shape[1])
    ys, xs = np.nonzero(comps == 1)
    return (int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1)


def preprocess(lps_hu):
    clipped = np.clip(lps_hu, -1024, 600)
    slices, boxes = [], []
    for z in range(clipped.shape[0]):
        box = body_box(body_mask(clipped[z]))
        crop = clipped[z, box[0]:box[2], box[1]:box[3]]
        slices.append(zoom_to(crop, (256, 256), order=1))
        boxes.append(box)
    return np.stack(slices), boxes


def training_targets(labels, boxes):
    """Label slices cropped and resized like the CT (nearest), as lungmask trains."""
    return np.stack([zoom_to(labels[z, y0:y1, x0:x1], (256, 256), order=0) for z, (y0, x0, y1, x1) in enumerate(boxes)])


def normalise(resized):
    return np.divide(resized + 1024, 1624).astype(np.float32)


# ---------------------------------------------------------------- lungmask post-processing


def postprocess(labels):
    """Small-component relabelling, largest component per label, hole filling."""
    regions = skimage.measure.label(labels, connectivity=3)  # 26-connected, ids in raster order
    n = int(regions.max())
    area = np.bincount(regions.ravel(), minlength=n + 1).astype(np.int64)
    cls = np.zeros(n + 1, np.int64)
    cls[regions.ravel()] = labels.ravel()
    order = sorted(range(1, n + 1), key=lambda r: area[r])  # stable: equal areas by id
    largest = np.zeros(int(labels.max()) + 1, np.int64)
    region_class = np.zeros(n + 1, np.uint8)
    for r in order:
        if area[r] > largest[cls[r]]:  # a region as large as an earlier one keeps class 0
            largest[cls[r]] = area[r]
            region_class[r] = cls[r]
    for r in order:
        if area[r] < largest[cls[r]] and area[r] > 2:
            mask = regions == r
            ring = ndi.binary_dilation(mask)  # 6-connected
            ids, counts = np.unique(regions[ring], return_counts=True)
            target, best, moved = r, 0, 0
            for i, k in zip(ids, counts):
                if i != 0 and i != r and k > best:
                    target, best, moved = int(i), int(k), int(area[r])
            regions[mask] = target
            if area[target] == largest[cls[target]]:
                largest[cls[target]] += moved
            area[target] += moved
    mapped = region_class[regions]
    out = np.zeros(labels.shape, np.uint8)
    for c in np.unique(mapped)[1:]:
        comps = skimage.measure.label(mapped == c, connectivity=3)
        sizes = np.bincount(comps.ravel())[1:]
        keep = comps == (len(sizes) - int(np.argmax(sizes[::-1])))  # ties: the last component
        if labels.shape[0] == 1:
            filled = skimage.morphology.area_closing(keep[0].astype(int), area_threshold=64)[None] == 1
        else:
            filled = ndi.binary_fill_holes(keep)  # background flooded 6-connected from the border
        out[filled] = c
    return out


def to_input_grid(labels256, boxes, shape_yx):
    out = np.zeros((labels256.shape[0],) + tuple(shape_yx), np.uint8)
    for z, (y0, x0, y1, x1) in enumerate(boxes):
        out[z, y0:y1, x0:x1] = zoom_to(labels256[z], (y1 - y0, x1 - x0), order=0)
    return out


# ---------------------------------------------------------------- helpers


def write_gz(name, array):
    data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder('<')).tobytes()
    (OUT / name).write_bytes(gzip.compress(data, compresslevel=9, mtime=0))


def run_net(net, x):
    with torch.no_grad():
        return net(torch.from_numpy(x[:, None])).numpy()


def pth_cases():
    """Tensors exercising dtypes, storage offsets, strides and shared storages."""
    base = torch.arange(24, dtype=torch.float32) * 0.5 - 3
    sd = collections.OrderedDict()
    sd['conv.weight'] = base[:12].reshape(2, 1, 2, 3)
    sd['transposed'] = base.reshape(4, 6).t()              # strides (1, 6)
    sd['offset_view'] = base[5:17].reshape(3, 4)            # storage offset 5, shares storage
    sd['every_other'] = base[1::2].reshape(3, 4)            # stride 2
    sd['half'] = torch.tensor([1.0, -2.5, 0.099975586, 65504.0], dtype=torch.float16)
    sd['bfloat'] = torch.tensor([1.0, -2.5, 3.140625], dtype=torch.bfloat16)
    sd['double'] = torch.tensor([[1e-300, -2.0], [3.5, 1e300]], dtype=torch.float64)
    sd['bn.num_batches_tracked'] = torch.tensor(123456789012, dtype=torch.int64)
    sd['int32'] = torch.tensor([-7, 0, 2147483647], dtype=torch.int32)
    sd['int16'] = torch.tensor([-32768, 5], dtype=torch.int16)
    sd['int8'] = torch.tensor([-128, 127], dtype=torch.int8)
    sd['uint8'] = torch.tensor([0, 255], dtype=torch.uint8)
    sd['bool'] = torch.tensor([True, False, True])
    sd['empty'] = torch.zeros(0, 3)
    expected = {}
    for k, t in sd.items():
        c = t.contiguous()
        if t.dtype in (torch.float16, torch.bfloat16):
            values = c.float().reshape(-1).tolist()
        elif t.dtype == torch.bool:
            values = [int(v) for v in c.reshape(-1).tolist()]
        elif t.dtype == torch.int64:
            values = [str(v) for v in c.reshape(-1).tolist()]
        else:
            values = c.reshape(-1).tolist()
        expected[k] = {'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape), 'values': values}
    return sd, expected


def scipy_zoom_maps():
    """Source index per output index of scipy.ndimage.zoom(order=0) for sizes lungmask meets;
    -1 marks samples scipy sets to cval because k*((in-1)/(out-1)) rounds above in-1."""
    pairs = [(160, 128), (192, 128), (512, 128), (97, 128), (128, 160), (128, 192), (128, 512),
             (128, 14), (128, 112), (128, 116), (128, 1), (256, 12), (256, 163), (256, 120),
             (256, 171), (256, 1), (3, 7), (7, 3), (2, 7)]
    maps = []
    for n_in, n_out in pairs:
        src = np.arange(1, n_in + 1, dtype=np.int32)[None, :]
        got = zoom_to(src, (1, n_out), order=0)[0].astype(int) - 1
        maps.append({'in': n_in, 'out': n_out, 'source': got.tolist()})
    return maps


# ---------------------------------------------------------------- main


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    direction = [-1, 0, 0, 0, -1, 0, 0, 0, 1]  # NIfTI-like: x -> patient right, y -> anterior
    lps, lungs = synthetic_ct()
    stored = to_stored(lps, direction)
    nz, ny, nx = stored.shape
    write_gz('ct.i16.raw.gz', stored)

    resized, boxes = preprocess(lps)
    write_gz('preprocessed.i16.raw.gz', resized.astype(np.int16))
    x = normalise(resized)

    ref = {
        'generator': 'scripts/make-lungmask-fixtures.py',
        'torch': torch.__version__,
        'ct': {'file': 'ct.i16.raw.gz', 'dims': [nx, ny, nz], 'spacingMm': [0.8, 0.75, 5.0],
               'origin': [120.5, 95.25, -42.0], 'direction': direction},
        'bodyBoxes': [list(b) for b in boxes],
        'boxOrder': 'y0 x0 y1 x1 (end exclusive) in LPS-oriented slices',
        'preprocessed': 'preprocessed.i16.raw.gz',
        'probabilitySubset': {'start': 3, 'step': 8, 'layout': '[slice][class][y][x]'},
        'models': {},
    }
    sub = np.s_[:, :, 3::8, 3::8]
    models = (('r231', 3, [2, 4, 8, 16, 32], lungs, 1, 200), ('lobes', 6, [2, 4, 8, 16, 32], lobes_from_lungs(lungs), 2, 400))
    for name, classes, widths, truth, seed, steps in models:
        net, loss = train_network(classes, widths, x, training_targets(truth, boxes), seed, steps)
        gap, err = secure_margin(net, x, seed)
        files = [f'{name}-tiny.pth', f'{name}-tiny-legacy.pth'] if name == 'r231' else [f'{name}-tiny-legacy.pth']
        for f in files:
            torch.save(net.state_dict(), OUT / f, _use_new_zipfile_serialization='legacy' not in f)
        logp = run_net(net, x)
        argmax = logp.argmax(1).astype(np.uint8)
        post = postprocess(argmax)
        labels_lps = to_input_grid(post, boxes, (ny, nx))
        labels = to_stored(labels_lps, direction)
        write_gz(f'{name}-probabilities.f32.raw.gz', np.exp(logp[sub]).astype(np.float32))
        write_gz(f'{name}-argmax.u8.raw.gz', argmax)
        write_gz(f'{name}-postprocessed.u8.raw.gz', post)
        write_gz(f'{name}-labels.u8.raw.gz', labels)
        ref['models'][name] = {
            'files': files, 'classes': classes, 'widths': widths, 'seed': seed, 'trainingSteps': steps, 'finalLoss': loss,
            'keys': len(net.state_dict()),
            'minTop2LogProbGap': gap, 'maxFloat32Top2GapError': err,
            'argmaxCounts': np.bincount(argmax.ravel(), minlength=classes).tolist(),
            'postprocessedCounts': np.bincount(post.ravel(), minlength=classes).tolist(),
            'labelCounts': np.bincount(labels.ravel(), minlength=classes).tolist(),
        }
        print(name, ref['models'][name])

    sd, expected = pth_cases()
    torch.save(sd, OUT / 'pth-cases.pth')
    torch.save(sd, OUT / 'pth-cases-legacy.pth', _use_new_zipfile_serialization=False)
    checkpoint = {'epoch': 3, 'state_dict': collections.OrderedDict([('w', torch.ones(2))]), 'lr': 0.01}
    torch.save(checkpoint, OUT / 'pth-checkpoint.pth')
    (OUT / 'pth-cases.json').write_text(json.dumps(expected, indent=1) + '\n')
    (OUT / 'scipy-zoom.json').write_text(json.dumps(scipy_zoom_maps()) + '\n')
    (OUT / 'reference.json').write_text(json.dumps(ref, indent=1) + '\n')
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f'wrote {OUT} ({total / 1024:.0f} KiB)')


if __name__ == '__main__':
    main()
