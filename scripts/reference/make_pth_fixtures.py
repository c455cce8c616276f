"""Writes the PyTorch checkpoint fixtures for crates/graft-nn/tests/pth.rs.

Run from the repository root with a Python that has torch and numpy:

    python scripts/reference/make_pth_fixtures.py

Outputs (all a few KB) go to crates/graft-nn/tests/fixtures/pth/:
- checkpoints torch.save wrote, in the zip and legacy formats, and the values they must give:
  expected.json (per file: every key of the state dict graft must return, with its dtype, shape
  and the name of its values in expected.npz; bfloat16 values are stored there as float32,
  which holds them exactly);
- hostile or broken files (hostile_*.pth), each of which must give an error naming the problem.
"""

import argparse
import collections
import io
import json
import os
import pickle
import struct
import zipfile

import numpy as np
import torch

OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "crates", "graft-nn", "tests",
    "fixtures", "pth",
)


def tiny_state_dict():
    """One tensor per dtype, plus views that share a storage (non-contiguous, offset)."""
    g = torch.Generator().manual_seed(0)
    base = torch.randn(3, 4, generator=g)
    sd = collections.OrderedDict()
    sd["conv.weight"] = torch.randn(2, 3, 2, 2, generator=g)
    sd["f64"] = torch.randn(5, generator=g, dtype=torch.float64)
    sd["f16"] = torch.randn(2, 3, generator=g).half()
    sd["bf16"] = torch.randn(2, 3, generator=g).bfloat16()
    sd["i64"] = torch.tensor([-(2**40), 0, 7, 2**62], dtype=torch.int64)
    sd["i32"] = torch.tensor([[-5, 6], [2**30, -(2**31)]], dtype=torch.int32)
    sd["i16"] = torch.tensor([-300, 301], dtype=torch.int16)
    sd["i8"] = torch.tensor([-128, 5, 127], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    sd["mask"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(3.25)
    sd["bn.num_batches_tracked"] = torch.tensor(17)
    sd["empty"] = torch.zeros(0, 3)
    # Views of one storage: the whole, its transpose, a strided slice at an offset.
    sd["base"] = base
    sd["base_t"] = base.t()
    sd["slice"] = base[1:, ::2]
    return sd


def small_state_dict():
    g = torch.Generator().manual_seed(1)
    return collections.OrderedDict(
        [
            ("fc.weight", torch.randn(3, 2, generator=g)),
            ("fc.bias", torch.randn(3, generator=g)),
            ("bn.running_mean", torch.randn(3, generator=g)),
        ]
    )


def save(obj, name, zip_format=True, **kw):
    path = os.path.join(OUT, name)
    torch.save(obj, path, _use_new_zipfile_serialization=zip_format, **kw)
    return path


def write_zip(name, records):
    """A zip laid out as torch lays it out (stored, one folder), from {inner name: bytes}."""
    path = os.path.join(OUT, name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for inner, data in records.items():
            z.writestr(inner, data)
    return path


def zip_records(path):
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


def legacy_prefix():
    """The three pickles a legacy file starts with (magic, protocol version, system info)."""
    out = io.BytesIO()
    for obj in (
        0x1950A86A20F9469CFC6C,
        1001,
        {"protocol_version": 1001, "little_endian": True,
         "type_sizes": {"short": 2, "int": 4, "long": 8}},
    ):
        pickle.dump(obj, out, protocol=2)
    return out.getvalue()


class FakeStorage:
    """Pickled as a storage persistent id with whatever numbers a test needs."""

    def __init__(self, cls, key, numel):
        self.cls, self.key, self.numel = cls, key, numel


class FakeTensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class FakePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            return ("storage", obj.cls, obj.key, "cpu", obj.numel)
        return None


def fake_pickle(obj):
    out = io.BytesIO()
    FakePickler(out, protocol=2).dump(obj)
    return out.getvalue()


def describe(sd, prefix):
    """expected.json entries for a state dict whose values are stored under `prefix/...`."""
    return {
        k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape),
            "values": f"{prefix}/{k}"}
        for k, v in sd.items()
    }


def main():
    argparse.ArgumentParser(description=__doc__).parse_args()
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    torch.manual_seed(0)
    tiny = tiny_state_dict()
    small = small_state_dict()
    arrays = {}
    for prefix, sd in (("tiny", tiny), ("small", small)):
        for k, v in sd.items():
            v = v.float() if v.dtype == torch.bfloat16 else v
            arrays[f"{prefix}/{k}"] = v.contiguous().numpy()
    expected = {}

    # Plain state dicts, both formats, and pickle protocol 4 (frames, memoize, stack globals).
    save(tiny, "tiny_zip.pth")
    save(tiny, "tiny_legacy.pth", zip_format=False)
    save(tiny, "tiny_zip_proto4.pth", pickle_protocol=4)
    save(tiny, "tiny_legacy_proto5.pth", zip_format=False, pickle_protocol=5)
    for name in ("tiny_zip.pth", "tiny_legacy.pth", "tiny_zip_proto4.pth",
                 "tiny_legacy_proto5.pth"):
        expected[name] = describe(tiny, "tiny")

    # Saved to a buffer: the archive folder is `archive`, not the file's stem.
    buf = io.BytesIO()
    torch.save(small, buf)
    with open(os.path.join(OUT, "small_buffer.pth"), "wb") as f:
        f.write(buf.getvalue())
    expected["small_buffer.pth"] = describe(small, "small")

    # A training checkpoint: weights under `state_dict`, beside an epoch, an optimizer state
    # (whose tensors must not be read), the script's argparse.Namespace and a NumPy scalar.
    params = [torch.nn.Parameter(small["fc.weight"].clone())]
    opt = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    params[0].grad = torch.ones_like(params[0])
    opt.step()
    save(
        {"state_dict": small, "epoch": 3, "optimizer": opt.state_dict(),
         "args": argparse.Namespace(lr=0.1, arch="net"), "best_acc": np.float64(0.5)},
        "wrapped_state_dict.pth",
        zip_format=False,
    )
    expected["wrapped_state_dict.pth"] = describe(small, "small")
    save({"model": small, "epoch": 1}, "wrapped_model.pth")
    expected["wrapped_model.pth"] = describe(small, "small")

    # DataParallel prefixes are stripped (all keys have them).
    save(collections.OrderedDict(("module." + k, v) for k, v in small.items()),
         "module_prefixed.pth")
    expected["module_prefixed.pth"] = describe(small, "small")

    # Nested dicts of tensors without a wrapper key: flattened with dots.
    save({"backbone": {"fc": {"weight": small["fc.weight"]}}, "head": {"bias": small["fc.bias"]},
          "bn.running_mean": small["bn.running_mean"], "step": 10}, "nested.pth")
    expected["nested.pth"] = {
        "backbone.fc.weight": describe(small, "small")["fc.weight"],
        "head.bias": describe(small, "small")["fc.bias"],
        "bn.running_mean": describe(small, "small")["bn.running_mean"],
    }

    # nn.Parameter values (torch._utils._rebuild_parameter), one tied to another.
    w = torch.nn.Parameter(small["fc.weight"].clone())
    save(collections.OrderedDict([("fc.weight", w), ("tied.weight", w),
                                  ("fc.bias", torch.nn.Parameter(small["fc.bias"].clone()))]),
         "parameters.pth")
    expected["parameters.pth"] = {
        "fc.weight": describe(small, "small")["fc.weight"],
        "tied.weight": describe(small, "small")["fc.weight"],
        "fc.bias": describe(small, "small")["fc.bias"],
    }

    # Big-endian zip: what torch writes on a big-endian machine (byteorder `big`, swapped data).
    be = collections.OrderedDict([("f32", small["fc.weight"]),
                                  ("i64", tiny["i64"]), ("f16", tiny["f16"])])
    sizes = {"0": 4, "1": 8, "2": 2}  # storage keys are assigned in pickling order
    path = save(be, "big_endian.pth")
    recs = zip_records(path)
    out = {}
    for inner, data in recs.items():
        folder, _, rest = inner.partition("/")
        if rest == "byteorder":
            data = b"big"
        elif rest.startswith("data/") and rest[5:] in sizes:
            a = np.frombuffer(data, dtype=np.dtype(f"u{sizes[rest[5:]]}"))
            data = a.byteswap().tobytes()
        out[inner] = data
    write_zip("big_endian.pth", out)
    expected["big_endian.pth"] = {
        "f32": describe(small, "small")["fc.weight"],
        "i64": describe(tiny, "tiny")["i64"], "f16": describe(tiny, "tiny")["f16"],
    }

    # ---- hostile or broken files ----
    # Code execution through GLOBAL + REDUCE, in a zip and in a legacy stream.
    evil = b"\x80\x02cos\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03."
    write_zip("hostile_os_system.pth", {"archive/data.pkl": evil, "archive/byteorder": b"little"})
    evil_eval = (b"\x80\x04\x95\x1d\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\x04eval"
                 b"\x94\x93\x94\x8c\x05print\x94\x85\x94R\x94.")
    with open(os.path.join(OUT, "hostile_eval_legacy.pth"), "wb") as f:
        f.write(legacy_prefix() + evil_eval)
    # Nesting 5000 lists deep inside the state dict.
    n = 5000
    deep = b"\x80\x02}X\x01\x00\x00\x00x" + b"]" * n + b"a" * (n - 1) + b"s."
    with open(os.path.join(OUT, "hostile_deep.pth"), "wb") as f:
        f.write(legacy_prefix() + deep)
    # A storage claiming 2**40 floats while its record holds 24 bytes.
    st = FakeStorage(torch.FloatStorage, "0", 2**40)
    pkl = fake_pickle(collections.OrderedDict(w=FakeTensor(st, 0, (2**20, 2**20), (2**20, 1))))
    write_zip("hostile_huge_numel.pth", {"archive/data.pkl": pkl, "archive/byteorder": b"little",
                                         "archive/data/0": b"\x00" * 24})
    # A view reaching past the end of its storage.
    st = FakeStorage(torch.FloatStorage, "0", 6)
    pkl = fake_pickle(collections.OrderedDict(w=FakeTensor(st, 2, (2, 3), (3, 1))))
    write_zip("hostile_out_of_bounds.pth", {"archive/data.pkl": pkl,
                                            "archive/data/0": b"\x00" * 24})
    # Truncated: a legacy file cut inside its storage data, and a zip cut anywhere.
    for src, name in (("tiny_legacy.pth", "hostile_truncated_legacy.pth"),
                      ("small_buffer.pth", "hostile_truncated_zip.pth")):
        data = open(os.path.join(OUT, src), "rb").read()
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data[: len(data) - 40])
    # A zip without the record of one storage.
    recs = zip_records(os.path.join(OUT, "small_buffer.pth"))
    write_zip("hostile_missing_record.pth",
              {k: v for k, v in recs.items() if k != "archive/data/1"})
    # A whole pickled module, and a TorchScript archive.
    save(torch.nn.Linear(2, 1), "hostile_whole_module.pth")
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 1)), os.path.join(OUT, "hostile_script.pt"))

    np.savez(os.path.join(OUT, "expected.npz"), **arrays)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    total = 0
    for f in sorted(os.listdir(OUT)):
        size = os.path.getsize(os.path.join(OUT, f))
        total += size
        print(f"{size:8d}  {f}")
    print(f"{total:8d}  total")


if __name__ == "__main__":
    main()
