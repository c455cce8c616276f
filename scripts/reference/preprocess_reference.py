"""Reference values for graft-data's image preprocessing, computed with PIL + torchvision.

Writes crates/graft-data/tests/fixtures/synthetic.png (a small deterministic test image) and
crates/graft-data/tests/fixtures/preprocess_reference.json. For each case it records the 8-bit
pixels after Resize + CenterCrop (+ Grayscale) at a fixed flat stride of the CHW tensor (base64),
a few normalised float values, and per-channel statistics of the whole normalised tensor.

Run from the repository root:  python scripts/reference/preprocess_reference.py [DATA_DIR]
DATA_DIR defaults to $GRAFT_DATA or ../shared/data; its test_images/ cases are included when
present.
"""

import base64
import json
import os
import sys
from pathlib import Path

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image
from torchvision import transforms as T

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "crates/graft-data/tests/fixtures"
IMAGENET = {"kind": "mean_std", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
MODES = {"bilinear": T.InterpolationMode.BILINEAR, "bicubic": T.InterpolationMode.BICUBIC}


def synthetic_image() -> Image.Image:
    """Gradients, stripes, a checkerboard, hard edges and a noise patch: 160 x 107 RGB."""
    w, h = 160, 107
    rng = np.random.default_rng(20240611)
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 255 / (w - 1)).astype(np.uint8)
    g = np.where((y // 3) % 2 == 0, 230, 20).astype(np.uint8)
    b = np.where(((x // 8) + (y // 8)) % 2 == 0, 250, 5).astype(np.uint8)
    img = np.stack([r, g, b], axis=-1)
    img[20:60, 90:150] = rng.integers(0, 256, size=(40, 60, 3), dtype=np.uint8)
    img[70:100, 10:40] = [255, 255, 255]
    img[75:95, 15:35] = [0, 0, 0]
    return Image.fromarray(img, "RGB")


def pipeline(case):
    ops = []
    if case["resize"] is not None:
        ops.append(T.Resize(case["resize"], interpolation=MODES[case["interpolation"]]))
    if case["crop"] is not None:
        ops.append(T.CenterCrop(case["crop"]))
    if case["color"] == "gray":
        ops.append(T.Grayscale())
    return T.Compose(ops)


def normalise(u8: np.ndarray, norm) -> torch.Tensor:
    """u8: CHW uint8 -> float32 tensor, the way torchvision's ToTensor + Normalize do it."""
    x = torch.from_numpy(u8.copy())
    if norm["kind"] == "mean_std":
        x = x.float().div(255)
        mean = torch.tensor(norm["mean"], dtype=torch.float32)[:, None, None]
        std = torch.tensor(norm["std"], dtype=torch.float32)[:, None, None]
        return x.sub(mean).div(std)
    if norm["kind"] == "centered":
        return x.float().sub(norm["center"]).div(norm["scale"])
    return x.float().div(255)


def run_case(img: Image.Image, case):
    out = pipeline(case)(img)
    u8 = np.asarray(out)
    u8 = u8[None] if u8.ndim == 2 else u8.transpose(2, 0, 1)
    if case["color"] == "bgr":
        u8 = u8[::-1]
    u8 = np.ascontiguousarray(u8)
    x = normalise(u8, case["normalization"]).double()
    flat = u8.reshape(-1)
    stride = case["stride"]
    idx = np.arange(0, flat.size, stride)
    picks = idx[:: max(1, len(idx) // 8)][:8]
    xf = normalise(u8, case["normalization"]).reshape(-1)
    res = dict(case)
    res.update(
        shape=list(u8.shape),
        samples_u8=base64.b64encode(flat[idx].tobytes()).decode(),
        norm_samples=[[int(i), float(xf[i])] for i in picks],
        stats={
            "mean": x.mean(dim=(1, 2)).tolist(),
            "std": x.std(dim=(1, 2), unbiased=False).tolist(),
            "min": x.amin(dim=(1, 2)).tolist(),
            "max": x.amax(dim=(1, 2)).tolist(),
        },
    )
    return res


def main():
    FIXTURES.mkdir(parents=True, exist_ok=True)
    syn_path = FIXTURES / "synthetic.png"
    synthetic_image().save(syn_path, optimize=True)
    data = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("GRAFT_DATA", ROOT / "../shared/data"))

    def case(image, resize, crop, interp, color="rgb", norm=IMAGENET, stride=1):
        return dict(image=image, resize=resize, crop=crop, interpolation=interp, color=color,
                    normalization=norm, stride=stride)

    cases = []
    for interp in ("bilinear", "bicubic"):
        cases.append(case("synthetic.png", 64, [56, 56], interp))
        cases.append(case("synthetic.png", 256, [224, 224], interp, stride=23))
    cases.append(case("synthetic.png", 64, [56, 56], "bicubic", color="gray", norm={"kind": "unit_range"}))
    cases.append(case("synthetic.png", None, [120, 170], "bilinear", color="bgr",
                      norm={"kind": "centered", "center": 127.0, "scale": 128.0}, stride=7))
    cases.append(case("synthetic.png", 30, None, "bilinear"))
    cases.append(case("synthetic.png", 107, [101, 99], "bicubic", stride=3))
    for name in ("chelsea.png", "coffee.png", "rocket.jpg"):
        if (data / "test_images" / name).exists():
            for interp in ("bilinear", "bicubic"):
                cases.append(case("test_images/" + name, 256, [224, 224], interp, stride=23))
        else:
            print(f"note: {data / 'test_images' / name} not found; case left out", file=sys.stderr)

    results = []
    for c in cases:
        path = FIXTURES / c["image"] if c["image"] == "synthetic.png" else data / c["image"]
        with Image.open(path) as im:
            img = im.convert("RGB")
        results.append(run_case(img, c))
    doc = {
        "generator": "scripts/reference/preprocess_reference.py",
        "versions": {"pillow": PIL.__version__, "torchvision": torchvision.__version__,
                     "torch": torch.__version__, "numpy": np.__version__},
        "cases": results,
    }
    out = FIXTURES / "preprocess_reference.json"
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {out} ({out.stat().st_size} bytes), {syn_path} ({syn_path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
