"""graft's reduced JPEG decoding against PIL's: `Image.draft` (libjpeg's scaled DCT) + resize.

Writes a photo-like test card as a quality-90 JPEG (4000x3000 by default), then for a few
(shorter side, crop) recipes compares the 8-bit crops of four pipelines:
  pil_full      Image.open -> convert("RGB") -> Resize(S) -> CenterCrop, as torchvision does
  pil_draft     the same after im.draft("RGB", 2x the resize's size) and resize(box=...),
                the way Image.thumbnail(reducing_gap=2.0) does it
  graft_full    graft with DecodeSize::Full
  graft_reduced graft with DecodeSize::Reduced (the default)
and prints max / mean absolute differences in 8-bit levels and milliseconds per image.
graft's side is the example crates/graft-data/examples/jpeg_draft.rs (built in release).

Run from the repository root:
    python scripts/reference/jpeg_draft.py [--size 4000x3000] [--repeats 10]
Outputs go to .bench/jpeg_draft/.
"""

import argparse
import os
import re
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np
from PIL import Image
from torchvision import transforms as T

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / ".bench/jpeg_draft"
MODES = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}
TV_MODES = {"bilinear": T.InterpolationMode.BILINEAR, "bicubic": T.InterpolationMode.BICUBIC}
REDUCING_GAP = 2.0


def test_card(w: int, h: int) -> Image.Image:
    """Gradients, a slow wave, hard-edged blocks, fine stripes and a noise texture."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 128 + 100 * np.sin(x / 97) * np.cos(y / 71)
    g = 30 + 200 * x / w
    b = np.where(((x // 128) + (y // 96)) % 2 == 0, 200, 40).astype(np.float32)
    img = np.stack([r, g, b], axis=-1)
    # Fine stripes (period 6 px) in one band, noise texture in another: detail the resize must
    # filter away, where a scaled IDCT and a full decode differ most.
    img[h // 4 : h // 2, :, 1] = np.where((x[h // 4 : h // 2] // 3) % 2 == 0, 220, 40)
    band = slice(h // 2, 3 * h // 4)
    img[band] += rng.normal(0, 25, size=img[band].shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def resized_wh(w, h, s):
    """torchvision's Resize(s) on a w x h image: shorter side s, longer int(s * long / short)."""
    if w <= h:
        return s, int(s * h / w)
    return int(s * w / h), s


def pil_full(path, s, crop, mode):
    with Image.open(path) as im:
        im = im.convert("RGB")
        im = T.Resize(s, interpolation=TV_MODES[mode])(im)
        return np.asarray(T.CenterCrop(crop)(im))


def pil_draft(path, s, crop, mode):
    with Image.open(path) as im:
        rw, rh = resized_wh(*im.size, s)
        # Image.thumbnail's request: int(size * reducing_gap) on each axis.
        _, box = im.draft("RGB", (int(rw * REDUCING_GAP), int(rh * REDUCING_GAP)))
        scale = im.decoderconfig[0] if im.decoderconfig else 1
        im = im.convert("RGB").resize((rw, rh), MODES[mode], box=box)
        return np.asarray(T.CenterCrop(crop)(im)), scale


def timed(f, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def diff(a, b):
    d = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return f"{d.max():3d} / {d.mean():.3f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="4000x3000")
    ap.add_argument("--quality", type=int, default=90)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--mode", default="bilinear", choices=sorted(MODES))
    a = ap.parse_args()
    w, h = map(int, a.size.split("x"))
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"card_{w}x{h}_q{a.quality}.jpg"
    if not path.exists():
        test_card(w, h).save(path, "JPEG", quality=a.quality)
    print(f"{path.name}: {path.stat().st_size / 1e6:.1f} MB, {a.mode}")
    print("recipe       k(PIL)  k(graft) | max / mean |diff| in 8-bit levels")
    print("                              | graft_red-pil_draft  pil_draft-pil_full  "
          "graft_red-graft_full  graft_full-pil_full")
    timings = []
    for s, crop in [(256, 224), (128, 112), (64, 56)]:
        case = OUT / f"S{s}_C{crop}_{a.mode}"
        case.mkdir(exist_ok=True)
        full = pil_full(path, s, crop, a.mode)
        draft, k_pil = pil_draft(path, s, crop, a.mode)
        run = subprocess.run(
            ["cargo", "run", "-q", "--release", "-p", "graft-data", "--example", "jpeg_draft",
             "--", str(path), str(s), str(crop), str(case), a.mode, str(a.repeats)],
            cwd=ROOT, check=True, capture_output=True, text=True,
            env={**os.environ, "RAYON_NUM_THREADS": "1"},
        ).stdout
        ms = dict(re.findall(r"(graft_\w+): .*?median ([\d.]+) ms", run))
        k_graft = re.search(r"graft_reduced: reduction 1/(\d)", run).group(1)
        g_full = np.asarray(Image.open(case / "graft_full.png").convert("RGB"))
        g_red = np.asarray(Image.open(case / "graft_reduced.png").convert("RGB"))
        print(f"S={s:3d} crop={crop:3d}  1/{k_pil}     1/{k_graft}    | {diff(g_red, draft):>18}  "
              f"{diff(draft, full):>18}  {diff(g_red, g_full):>20}  {diff(g_full, full):>18}")
        t_full = timed(lambda: pil_full(path, s, crop, a.mode), a.repeats)
        t_draft = timed(lambda: pil_draft(path, s, crop, a.mode), a.repeats)
        timings.append((s, crop, t_full, t_draft, float(ms["graft_full"]),
                        float(ms["graft_reduced"])))
    print("\nms per image (median of %d, one thread): decode + resize + crop" % a.repeats)
    print("recipe          PIL full  PIL draft  graft full  graft reduced")
    for s, crop, tf, td, gf, gr in timings:
        print(f"S={s:3d} crop={crop:3d}  {tf:8.1f}  {td:9.1f}  {gf:10.1f}  {gr:13.1f}")


if __name__ == "__main__":
    main()
