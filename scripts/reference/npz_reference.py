"""NumPy-written .npz fixtures for graft-data's own .npy/.npz reader.

Writes crates/graft-data/tests/fixtures/numpy_stored.npz (numpy.savez: stored members) and
numpy_deflated.npz (numpy.savez_compressed: deflated members) holding the same arrays: many
dtypes, both byte orders, a Fortran-ordered matrix, strings, and a 0-d array. The expected
values are written beside them as numpy_arrays.json (flattened in C order).

Run from the repository root:  python scripts/reference/npz_reference.py
"""

import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "crates/graft-data/tests/fixtures"


def arrays():
    base = np.arange(12).reshape(3, 4)
    return {
        "X": (base / 7).astype("<f4"),
        "X64": (base / 7 - 0.5).astype("<f8"),
        "Xbig": (base * 1.5).astype(">f8"),
        "Xf16": (base / 4).astype("<f2"),
        "Xfortran": np.asfortranarray((base * 10).astype("<i4")),
        "cube_fortran": np.asfortranarray(np.arange(24, dtype="<i2").reshape(2, 3, 4)),
        "y": np.array([2, 0, 1], dtype="<i8"),
        "y_i4": np.array([2, 0, 1], dtype="<i4"),
        "y_u1": np.array([2, 0, 1], dtype="|u1"),
        "y_u2big": np.array([2, 0, 1], dtype=">u2"),
        "y_i1": np.array([-2, 0, 1], dtype="|i1"),
        "y_float": np.array([2.0, 0.0, 1.0]),
        "y_bool": np.array([True, False, True]),
        "y_str": np.array(["dog", "cat", "émeu"]),
        "y_bytes": np.array([b"b", b"a", b"c"]),
        "scalar": np.array(3.25),
        "empty": np.zeros((0, 5), dtype="<f4"),
    }


def main():
    FIXTURES.mkdir(parents=True, exist_ok=True)
    a = arrays()
    np.savez(FIXTURES / "numpy_stored.npz", **a)
    np.savez_compressed(FIXTURES / "numpy_deflated.npz", **a)

    def flat(v):
        v = np.ascontiguousarray(v).reshape(-1)
        if v.dtype.kind in "US":
            return [x.decode() if isinstance(x, bytes) else str(x) for x in v]
        if v.dtype.kind == "b":
            return [bool(x) for x in v]
        if v.dtype.kind == "f":
            return [float(x) for x in v]
        return [int(x) for x in v]

    expected = {k: {"shape": list(v.shape), "descr": v.dtype.str, "values": flat(v)} for k, v in a.items()}
    (FIXTURES / "numpy_arrays.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
    for f in ("numpy_stored.npz", "numpy_deflated.npz", "numpy_arrays.json"):
        print(f, (FIXTURES / f).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
