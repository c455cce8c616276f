"""Writes the small seed corpus of the fuzz targets (fuzz/corpus/<target>/seed-*).

Run from the repository root with a Python that has numpy, torch, safetensors and Pillow:
    python fuzz/make_seeds.py
Every seed is a valid (or nearly valid) file of its format, a few hundred bytes at most, so the
fuzzer starts from inputs that reach deep into each parser.
"""

import gzip
import io
import json
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import safetensors.numpy
import safetensors.torch
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent / "corpus"


def put(target, name, data):
    d = ROOT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(data)


def npy(a, fortran=False):
    b = io.BytesIO()
    np.save(b, np.asfortranarray(a) if fortran else a)
    return b.getvalue()


def npz(compressed=False, **arrays):
    b = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(b, **arrays)
    return b.getvalue()


def idx(code, dims, data):
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data


def split(images, labels=b""):
    return struct.pack("<H", len(images)) + images + labels


def main():
    put("svmlight", "basic", b"1 1:0.5 3:2\n0 2:1.5 # comment\n-1 qid:3 1:1e-3 4:-2\n")
    put("svmlight", "floatlabels", b"2.0 1:1 2:2\n\n# only a comment\n3.0 10:0\n")
    put("csv", "labelled", b"a,b,label\n1,2,cat\n3.5,-4,dog\n0,1e3,cat\n")
    put("csv", "numeric", b"x0,x1,x2,y\n0.1,0.2,0.3,1\n0.4,0.5,0.6,0\n")
    put("csv", "quoted", b'"f,1","f 2",class\n1,2,"a,b"\n3,4,c\n')

    put("npy", "f32", npy(np.arange(6, dtype=np.float32).reshape(2, 3)))
    put("npy", "i64", npy(np.array([1, -2, 3], dtype=np.int64)))
    put("npy", "bool", npy(np.array([True, False])))
    put("npy", "str", npy(np.array(["ab", "c"])))
    put("npy", "bytes", npy(np.array([b"ab", b"c"])))
    put("npy", "fortran_be", npy(np.arange(6, dtype=">f8").reshape(2, 3), fortran=True))
    put("npy", "scalar_u8", npy(np.array(7, dtype=np.uint8)))

    x = np.arange(12, dtype=np.float32).reshape(3, 2, 2)
    put("npz", "xy", npz(X=x, y=np.array([1, 0, 1]), class_names=np.array(["neg", "pos"])))
    put("npz", "strlabels", npz(X=x[:, 0], y=np.array(["a", "b", "a"])))
    put("npz", "splits", npz(compressed=True, train_X=x, train_y=np.array([0.0, 1.0, 1.0])))
    put("npz", "features", npz(
        X=x.reshape(3, 4), y=np.array([0, 1, -1]), class_names=np.array(["a", "b"]),
        paths=np.array(["p0", "p1", "p2"]), metadata=np.array(json.dumps({"model": "m"}))))

    images = idx(8, [2, 2, 3], bytes(range(12)))
    labels = idx(8, [2], bytes([7, 3]))
    put("idx", "images_labels", split(images, labels))
    put("idx", "gz", split(gzip.compress(images, mtime=0), gzip.compress(labels, mtime=0)))
    put("idx", "f32", split(idx(0x0D, [2, 1], struct.pack(">2f", 1.5, -2.0))))
    put("idx", "i16", split(idx(0x0B, [1, 2], struct.pack(">2h", -5, 9)), idx(0x0C, [1], struct.pack(">i", 4))))

    meta = {"format": "graft-features/1", "class_names": json.dumps(["a", "b"]),
            "paths": json.dumps(["x.png", "y.png"]), "model": "resnet18"}
    put("features_safetensors", "f32", safetensors.numpy.save(
        {"features": np.arange(6, dtype=np.float32).reshape(2, 3), "labels": np.array([0, 1])},
        metadata=meta))
    put("features_safetensors", "f64_nolabels", safetensors.numpy.save(
        {"features": np.ones((1, 2), dtype=np.float64)}))

    def img(im, fmt, **kw):
        b = io.BytesIO()
        im.save(b, fmt, **kw)
        return b.getvalue()

    rgb = Image.frombytes("RGB", (5, 3), bytes(range(45)))
    put("image", "rgb.png", img(rgb, "PNG"))
    put("image", "gray.png", img(rgb.convert("L"), "PNG"))
    put("image", "rgba.png", img(rgb.convert("RGBA"), "PNG"))
    put("image", "palette.png", img(rgb.convert("P"), "PNG"))
    put("image", "i16.png", img(Image.frombytes("I;16", (3, 2), bytes(range(12))), "PNG"))
    put("image", "rgb.jpg", img(rgb, "JPEG", quality=50))
    put("image", "progressive.jpg", img(rgb, "JPEG", quality=50, progressive=True))
    put("image", "gray.jpg", img(rgb.convert("L"), "JPEG", quality=50))
    put("image", "rgb.bmp", img(rgb, "BMP"))
    put("image", "lossy.webp", img(rgb, "WEBP", quality=50))
    put("image", "lossless.webp", img(rgb, "WEBP", lossless=True))
    # Large enough for the fuzz recipe that decodes JPEGs at 1/2..1/8 size (scaled DCT); CMYK is
    # what that decoder declines, so it exercises the fall-back to the full-size decoder.
    grad = Image.frombytes("RGB", (48, 32), bytes(
        v for y in range(32) for x in range(48) for v in (x * 5, y * 7, (x + y) * 3)))
    put("image", "progressive48.jpg", img(grad, "JPEG", quality=75, progressive=True))
    put("image", "cmyk48.jpg", img(grad.convert("CMYK"), "JPEG", quality=75))

    sd = {"conv.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3),
          "bn.num_batches_tracked": torch.tensor(3), "fc.bias": torch.zeros(2, dtype=torch.float16)}
    b = io.BytesIO()
    torch.save(sd, b)
    zip_pth = b.getvalue()
    b = io.BytesIO()
    torch.save({"state_dict": sd, "epoch": 3}, b, _use_new_zipfile_serialization=False)
    legacy_pth = b.getvalue()
    b = io.BytesIO()
    torch.save({"model": {"module.w": torch.ones(2, 2)[:, 0]}}, b)
    put("pth", "zip", zip_pth)
    put("pth", "legacy", legacy_pth)
    put("pth", "nested_view", b.getvalue())

    with zipfile.ZipFile(io.BytesIO(zip_pth)) as z:
        data_pkl = next(n for n in z.namelist() if n.endswith("data.pkl"))
        put("pickle", "state_dict", z.read(data_pkl))
    put("pickle", "legacy_stream", legacy_pth[:400])
    put("pickle", "plain", pickle.dumps({"a": [1, 2.5, "s", None, True], "b": (b"x", {1: 2})}, protocol=2))
    put("pickle", "proto4", pickle.dumps({"k": list(range(3)), "t": (1,)}, protocol=4))

    put("safetensors_weights", "mixed", safetensors.torch.save(
        {"w": torch.arange(4, dtype=torch.float32).reshape(2, 2), "i": torch.tensor([1, 2]),
         "h": torch.ones(3, dtype=torch.bfloat16)}, metadata={"format": "pt"}))
    put("safetensors_weights", "empty", safetensors.torch.save({}))


if __name__ == "__main__":
    main()
