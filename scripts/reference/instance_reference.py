#!/usr/bin/env python3
"""Reference instance weights for graft-shallow's `instance` module, computed with ADAPT 0.4.5.

Writes
  crates/graft-shallow/tests/fixtures/instance_synth.npz
      source (200 x 5, N(0, I)) and target (200 x 5, shifted and narrower Gaussian), and ADAPT's
      weights for KMM, KLIEP (the three solvers), uLSIF, RuLSIF, nearest-neighbour weighting
      (k = 1 and 5) and IWC (logistic domain classifier), plus the uLSIF / RuLSIF / KLIEP
      ratios evaluated on 20 new rows. Hyper-parameters are fixed (no cross-validation) and
      every target row is a kernel centre (max_centers >= n_target), so ADAPT's random draws
      do not enter the results.

With --mnist DATA_DIR it also writes .bench/instance/mnist_usps_adapt.npz: ADAPT's weights for
MNIST (2000 x 256, source) -> USPS (1800 x 256, target) from
DATA_DIR/jda_mnist_usps_coil/mnist_usps_jda.npz (KMM as one QP, max_size=2000; KLIEP / uLSIF /
RuLSIF with max_centers=1800; KLIEP's PG solver is left out, its
projection is a Python loop), which the ignored test `mnist_usps_against_adapt` in
crates/graft-shallow/tests/instance_adapt.rs compares with.

    /tmp/pyref/bin/python scripts/reference/instance_reference.py [--mnist /work/shared/data]
"""

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
from adapt.instance_based import (  # noqa: E402
    IWC,
    KLIEP,
    KMM,
    RULSIF,
    ULSIF,
    NearestNeighborsWeighting,
)

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "crates" / "graft-shallow" / "tests" / "fixtures"


def weights_for(xs: np.ndarray, xt: np.ndarray, new: np.ndarray | None, gamma: float,
                centres: int, kmm_max_size: int,
                kliep_algos: tuple[str, ...] = ("FW", "PG", "original")) -> dict[str, np.ndarray]:
    """ADAPT's weights on the source (and ratios on `new`) for every method."""
    out: dict[str, np.ndarray] = {}
    common = dict(verbose=0, random_state=0)
    out["kmm"] = KMM(kernel="rbf", gamma=gamma, B=1000, max_size=kmm_max_size,
                     **common).fit_weights(xs, xt)
    for algo in kliep_algos:
        m = KLIEP(kernel="rbf", gamma=gamma, max_centers=centres, algo=algo, **common)
        out[f"kliep_{algo.lower()}"] = m.fit_weights(xs, xt)
        if new is not None:
            out[f"kliep_{algo.lower()}_new"] = m.predict_weights(new)
    m = ULSIF(kernel="rbf", gamma=gamma, lambdas=1.0, max_centers=centres, **common)
    out["ulsif"] = m.fit_weights(xs, xt)
    if new is not None:
        out["ulsif_new"] = m.predict_weights(new)
    m = ULSIF(kernel="rbf", gamma=gamma, lambdas=0.01, max_centers=centres, **common)
    out["ulsif_lambda001"] = m.fit_weights(xs, xt)
    m = RULSIF(kernel="rbf", gamma=gamma, alpha=0.1, lambdas=1.0, max_centers=centres, **common)
    out["rulsif"] = m.fit_weights(xs, xt)
    if new is not None:
        out["rulsif_new"] = m.predict_weights(new)
    m = RULSIF(kernel="rbf", gamma=gamma, alpha=0.5, lambdas=0.1, max_centers=centres, **common)
    out["rulsif_alpha05"] = m.fit_weights(xs, xt)
    for k in (1, 5):
        out[f"nnw{k}"] = NearestNeighborsWeighting(n_neighbors=k, **common).fit_weights(xs, xt)
    out["iwc"] = IWC(**common).fit_weights(xs, xt)
    return out


def synthetic() -> None:
    rng = np.random.default_rng(0)
    d = 5
    xs = rng.normal(size=(200, d))
    shift = np.array([0.8, -0.4, 0.0, 0.3, 0.0])
    xt = 0.7 * rng.normal(size=(200, d)) + shift
    new = rng.normal(size=(20, d))
    out = weights_for(xs, xt, new, gamma=1.0 / d, centres=200, kmm_max_size=1000)
    FIX.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(FIX / "instance_synth.npz", xs=xs, xt=xt, new=new, **out)
    print("wrote", FIX / "instance_synth.npz")


def mnist(data: Path) -> None:
    z = np.load(data / "jda_mnist_usps_coil" / "mnist_usps_jda.npz")
    xs, xt = z["mnist_X"], z["usps_X"]
    # ADAPT's exact projection loops in Python (O(m^2) per step): too slow with 1800 centres.
    out = weights_for(xs, xt, None, gamma=1.0 / xs.shape[1], centres=len(xt),
                      kmm_max_size=len(xs), kliep_algos=("FW", "original"))
    dest = ROOT / ".bench" / "instance"
    dest.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(dest / "mnist_usps_adapt.npz", **out)
    print("wrote", dest / "mnist_usps_adapt.npz")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mnist", type=Path, help="shared data folder; also write MNIST->USPS")
    a = p.parse_args()
    synthetic()
    if a.mnist:
        mnist(a.mnist)


if __name__ == "__main__":
    main()
