#!/usr/bin/env python3
"""Reference values for graft-shallow's alignment methods (crates/graft-shallow/src/align), with
NumPy / SciPy written from the papers, and ADAPT 0.4.5 where it implements the same map.

Writes
  crates/graft-shallow/tests/fixtures/align_synth.npz       a small seeded problem and every
                                                           method's output on it
  crates/graft-shallow/tests/fixtures/align_jda_reference.json
                                                           1-NN accuracies (%) of NN, PCA, TCA
                                                           and JDA on the four JDA benchmark
                                                           tasks (needs the shared data)

    /tmp/pyref/bin/python scripts/reference/align_reference.py [--data /work/shared/data]

Conventions shared with the Rust code: eigenvectors scaled to unit Euclidean norm and signed
so that their largest-magnitude entry is positive; covariances divided by n - 1; the MMD
matrix M scaled to unit Frobenius norm (Long et al.'s code); TCA / JDA solve
(X^T M X + lam I) a = phi X^T H X a (primal) or (K M K + lam I) w = phi K H K w (kernel) and
keep the k smallest phi.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy.linalg as sl
from sklearn.neighbors import KNeighborsClassifier

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "crates" / "graft-shallow" / "tests" / "fixtures"


# ---- shared helpers ---------------------------------------------------------------------------

def l2_rows(x):
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return x / n


def fix_signs(v):
    v = v / np.linalg.norm(v, axis=0, keepdims=True)
    idx = np.argmax(np.abs(v), axis=0)
    s = np.sign(v[idx, np.arange(v.shape[1])])
    s[s == 0] = 1.0
    return v * s


def top_eig(c, k):
    w, v = np.linalg.eigh(c)
    return w[::-1][:k], fix_signs(v[:, ::-1][:, :k])


def nn1(zs, ys, zt):
    return KNeighborsClassifier(n_neighbors=1, algorithm="brute").fit(zs, ys).predict(zt)


def rbf(a, b, gamma):
    d = (a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None, :]
    return np.exp(-gamma * np.maximum(d, 0.0))


# ---- the methods, from the papers -------------------------------------------------------------

def pca(xs, xt, k):
    """Long et al. 2013 PCA baseline: principal axes of source + target, centred rows."""
    x = np.vstack([xs, xt])
    mean = x.mean(0)
    _, p = top_eig(np.cov(x, rowvar=False), k)
    return (xs - mean) @ p, (xt - mean) @ p, lambda z: (z - mean) @ p


def coral(xs, xt, lam):
    """Sun et al. 2016, Algorithm 1 (no centring); target unchanged."""
    cs = np.cov(xs, rowvar=False) + lam * np.eye(xs.shape[1])
    ct = np.cov(xt, rowvar=False) + lam * np.eye(xt.shape[1])
    return xs @ np.real(sl.inv(sl.sqrtm(cs))) @ np.real(sl.sqrtm(ct))


def sa(xs, xt, k):
    """Fernando et al. 2013: Xs Ps Ps' Pt and Xt Pt (the paper's code does not centre)."""
    _, ps = top_eig(np.cov(xs, rowvar=False), k)
    _, pt = top_eig(np.cov(xt, rowvar=False), k)
    return xs @ ps @ ps.T @ pt, xt @ pt, lambda z: z @ pt


def mmd_solve(x, e, c, lam, k, gamma=None):
    """Smallest-phi directions of (B' M B + lam I) a = phi B' H B a, B = X (primal) or K."""
    base = x if gamma is None else rbf(x, x, gamma)
    m = np.zeros((len(x), len(x)))
    for cj, ej in zip(c, e.T):
        m += cj * np.outer(ej, ej)
    m /= np.linalg.norm(m, "fro")
    a = base.T @ m @ base + lam * np.eye(base.shape[1])
    b = np.cov(base, rowvar=False)
    dim = base.shape[1]
    _, v = sl.eigh(b, a, subset_by_index=[dim - k, dim - 1])
    v = fix_signs(v[:, ::-1])
    return base @ v, v


def mmd_terms(ys, classes, pseudo, ns, nt):
    e0 = np.r_[np.ones(ns) / ns, -np.ones(nt) / nt]
    cols, c = [e0], [float(len(classes))]
    if pseudo is not None:
        for cl in classes:
            e = np.zeros(ns + nt)
            e[:ns][ys == cl] = 1.0 / np.sum(ys == cl)
            if np.sum(pseudo == cl) > 0:
                e[ns:][pseudo == cl] = -1.0 / np.sum(pseudo == cl)
            cols.append(e)
            c.append(1.0)
    return np.stack(cols, 1), c


def tca(xs, xt, k, mu, gamma=None):
    ns, nt = len(xs), len(xt)
    x = np.vstack([xs, xt])
    e, _ = mmd_terms(None, [], None, ns, nt)
    z, v = mmd_solve(x, e, [1.0], mu, k, gamma)
    new = (lambda q: q @ v) if gamma is None else (lambda q: rbf(q, x, gamma) @ v)
    return z[:ns], z[ns:], new


def jda(xs, ys, xt, k, lam, iterations, gamma=None):
    """Long et al. 2013 as their code: 1-NN pseudo-labels on L2-normalised embeddings."""
    ns, nt = len(xs), len(xt)
    x = np.vstack([xs, xt])
    classes = np.unique(ys)
    pseudo, accs = None, []
    for _ in range(iterations):
        e, c = mmd_terms(ys, classes, pseudo, ns, nt)
        z, v = mmd_solve(x, e, c, lam, k, gamma)
        pseudo = nn1(l2_rows(z[:ns]), ys, l2_rows(z[ns:]))
        accs.append(pseudo)
    new = (lambda q: q @ v) if gamma is None else (lambda q: rbf(q, x, gamma) @ v)
    return z[:ns], z[ns:], pseudo, new


# ---- fixtures ---------------------------------------------------------------------------------

def synthetic():
    import adapt.feature_based as fb

    rng = np.random.default_rng(7)
    d, ns, nt, nl, nnew = 6, 40, 32, 8, 5
    mix = rng.normal(size=(d, d))
    ys = rng.integers(0, 3, ns)
    xs = rng.normal(size=(ns, d)) @ mix + 2.0 * np.eye(3, d)[ys]
    yt = rng.integers(0, 3, nt)
    xt = (rng.normal(size=(nt, d)) @ mix + 2.0 * np.eye(3, d)[yt]) * 1.3 + 0.5
    yl = rng.integers(0, 3, nl)
    xl = (rng.normal(size=(nl, d)) @ mix + 2.0 * np.eye(3, d)[yl]) * 1.3 + 0.5
    xnew = (rng.normal(size=(nnew, d)) @ mix) * 1.3 + 0.5
    out = dict(xs=xs, ys=ys.astype(np.int64), xt=xt, yt=yt.astype(np.int64), xl=xl,
               yl=yl.astype(np.int64), xnew=xnew)
    k, gamma = 3, 0.05

    s, t, f = pca(xs, xt, k)
    out.update(pca_source=s, pca_target=t, pca_new=f(xnew))

    out["coral_source"] = coral(xs, xt, 1.0)
    out["coral_adapt_source"] = fb.CORAL(lambda_=1.0, verbose=0).fit_transform(xs, xt)

    s, t, f = sa(xs, xt, k)
    out.update(sa_source=s, sa_target=t, sa_new=f(xnew))
    m = fb.SA(n_components=k, verbose=0)
    out["sa_adapt_source"] = m.fit_transform(xs, xt)
    out["sa_adapt_target"] = m.transform(xt, domain="tgt")

    for name, g in (("tca_primal", None), ("tca_rbf", gamma)):
        s, t, f = tca(xs, xt, k, 0.1, g)
        out.update({f"{name}_source": s, f"{name}_target": t, f"{name}_new": f(xnew)})

    for name, g in (("jda_primal", None), ("jda_rbf", gamma)):
        s, t, p, f = jda(xs, ys, xt, k, 0.1, 5, g)
        out.update({f"{name}_source": s, f"{name}_target": t,
                    f"{name}_pseudo": p.astype(np.int64), f"{name}_new": f(xnew)})

    # ADAPT orders FA's blocks [source-only, target-only, general]; the paper [general, source,
    # target]. Stored as ADAPT returns them.
    m = fb.FA(verbose=0)
    xfa, _ = m.fit_transform(xs, xl, ys, yl)
    out["fa_adapt_source"] = xfa[:ns]
    out["fa_adapt_target"] = xfa[ns:]
    out["fa_adapt_new"] = m.transform(xnew, domain="tgt")

    np.savez(FIX / "align_synth.npz", **out)
    print(f"wrote {FIX / 'align_synth.npz'} ({len(out)} arrays)")


def benchmark(data: Path):
    z = np.load(data / "jda_mnist_usps_coil" / "mnist_usps_jda.npz")
    c = np.load(data / "jda_mnist_usps_coil" / "coil20_jda.npz")
    tasks = {
        "MNIST->USPS": (z["mnist_X"], z["mnist_y"], z["usps_X"], z["usps_y"]),
        "USPS->MNIST": (z["usps_X"], z["usps_y"], z["mnist_X"], z["mnist_y"]),
        "COIL1->COIL2": (c["coil1_X"], c["coil1_y"], c["coil2_X"], c["coil2_y"]),
        "COIL2->COIL1": (c["coil2_X"], c["coil2_y"], c["coil1_X"], c["coil1_y"]),
    }
    res = {"nn": {}, "pca": {}, "tca": {}, "jda": {}, "jda_rounds": {}}
    for name, (xs, ys, xt, yt) in tasks.items():
        t0 = time.time()
        xs, xt = l2_rows(xs), l2_rows(xt)
        acc = lambda p: round(100.0 * float(np.mean(p == yt)), 4)
        res["nn"][name] = acc(nn1(xs, ys, xt))
        s, t, _ = pca(xs, xt, 100)
        res["pca"][name] = acc(nn1(s, ys, t))
        s, t, _ = tca(xs, xt, 100, 0.1)
        res["tca"][name] = acc(nn1(l2_rows(s), ys, l2_rows(t)))
        rounds = []
        ns = len(xs)
        x = np.vstack([xs, xt])
        classes, pseudo = np.unique(ys), None
        for _ in range(10):
            e, cc = mmd_terms(ys, classes, pseudo, ns, len(xt))
            zz, _ = mmd_solve(x, e, cc, 0.1, 100)
            pseudo = nn1(l2_rows(zz[:ns]), ys, l2_rows(zz[ns:]))
            rounds.append(acc(pseudo))
        res["jda"][name] = rounds[-1]
        res["jda_rounds"][name] = rounds
        print(name, {k: v[name] for k, v in res.items()}, f"{time.time() - t0:.0f} s", flush=True)
    res["settings"] = ("L2-normalised rows; 1-NN (brute force); PCA k=100 on raw projections; "
                       "TCA primal k=100 lambda=0.1; JDA primal k=100 lambda=0.1 T=10; TCA and "
                       "JDA embeddings L2-normalised before 1-NN")
    res["published"] = {
        "source": "Long et al. 2013, Table 2",
        "nn": {"MNIST->USPS": 65.94, "USPS->MNIST": 44.70, "COIL1->COIL2": 83.61,
               "COIL2->COIL1": 82.78},
        "pca": {"MNIST->USPS": 66.22, "USPS->MNIST": 44.95, "COIL1->COIL2": 84.72,
                "COIL2->COIL1": 84.03},
        "tca": {"MNIST->USPS": 56.28, "USPS->MNIST": 51.05, "COIL1->COIL2": 88.47,
                "COIL2->COIL1": 85.83},
        "jda": {"MNIST->USPS": 67.28, "USPS->MNIST": 59.65, "COIL1->COIL2": 89.31,
                "COIL2->COIL1": 88.47},
    }
    path = FIX / "align_jda_reference.json"
    path.write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--skip-benchmark", action="store_true")
    args = ap.parse_args()
    FIX.mkdir(parents=True, exist_ok=True)
    synthetic()
    if args.skip_benchmark:
        return
    if not (args.data / "jda_mnist_usps_coil").is_dir():
        sys.exit(f"{args.data}/jda_mnist_usps_coil not found (pass --data)")
    benchmark(args.data)


if __name__ == "__main__":
    main()
