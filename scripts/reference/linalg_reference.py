#!/usr/bin/env python3
"""Reference values for graft-shallow, computed with scikit-learn and the tllib ranking formulas.

Writes
  crates/graft-shallow/tests/fixtures/linalg_synth.npz   small synthetic problems, their data and
                                                        scikit-learn's / tllib's outputs
  crates/graft-shallow/tests/fixtures/mnist_usps_sklearn.json
                                                        scikit-learn accuracies on the JDA
                                                        MNIST -> USPS arrays (train MNIST, test USPS)

    /tmp/pyref/bin/pip install scikit-learn
    /tmp/pyref/bin/python scripts/reference/linalg_reference.py [--data /work/shared/data]

tllib (thuml/Transfer-Learning-Library) has no installable release here, so its four ranking
functions are copied below formula for formula (tllib/ranking/{logme,leep,nce,hscore}.py;
`each_evidence` without its numba decorator) and run on the same arrays.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.metrics import f1_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "crates" / "graft-shallow" / "tests" / "fixtures"


# ---- tllib.ranking, copied -------------------------------------------------------------------

def tllib_log_maximum_evidence(features, targets):
    f = features.astype(np.float64)
    y = targets
    fh = f
    f = f.transpose()
    D, N = f.shape
    v, s, vh = np.linalg.svd(f @ fh, full_matrices=True)
    evidences = []
    C = int(y.max() + 1)
    for i in range(C):
        y_ = (y == i).astype(np.float64)
        evidence, _ = tllib_each_evidence(y_, f, fh, v, s, vh, N, D)
        evidences.append(evidence)
    return np.mean(evidences)


def tllib_each_evidence(y_, f, fh, v, s, vh, N, D):
    alpha = 1.0
    beta = 1.0
    lam = alpha / beta
    tmp = (vh @ (f @ y_))
    for _ in range(11):
        gamma = (s / (s + lam)).sum()
        m = v @ (tmp * beta / (alpha + beta * s))
        alpha_de = (m * m).sum()
        alpha = gamma / alpha_de
        beta_de = ((y_ - fh @ m) ** 2).sum()
        beta = (N - gamma) / beta_de
        new_lam = alpha / beta
        if np.abs(new_lam - lam) / lam < 0.01:
            break
        lam = new_lam
    evidence = D / 2.0 * np.log(alpha) \
        + N / 2.0 * np.log(beta) \
        - 0.5 * np.sum(np.log(alpha + beta * s)) \
        - beta / 2.0 * beta_de \
        - alpha / 2.0 * alpha_de \
        - N / 2.0 * np.log(2 * np.pi)
    return evidence / N, m


def tllib_leep(source_pred, target_label):
    N, C_s = source_pred.shape
    target_label = target_label.reshape(-1)
    C_t = int(np.max(target_label) + 1)
    normalized_prob = source_pred / float(N)
    joint = np.zeros((C_t, C_s), dtype=float)
    for i in range(C_t):
        this_class = normalized_prob[target_label == i]
        row = np.sum(this_class, axis=0)
        joint[i] = row
    p_target_given_source = (joint / joint.sum(axis=0, keepdims=True)).T
    empirical_prediction = source_pred @ p_target_given_source
    empirical_prob = np.array([predict[label] for predict, label in zip(empirical_prediction, target_label)])
    return np.mean(np.log(empirical_prob))


def tllib_nce(source_labels, target_labels):
    C_t = int(np.max(target_labels) + 1)
    C_s = int(np.max(source_labels) + 1)
    N = len(source_labels)
    joint = np.zeros((C_t, C_s), dtype=float)
    for s, t in zip(source_labels, target_labels):
        joint[int(t), int(s)] += 1.0 / N
    p_z = joint.sum(axis=0, keepdims=True)
    p_target_given_source = (joint / p_z).T
    mask = p_z.reshape(-1) != 0
    p_target_given_source = p_target_given_source[mask] + 1e-20
    entropy_y_given_z = np.sum(-p_target_given_source * np.log(p_target_given_source), axis=1, keepdims=True)
    conditional_entropy = np.sum(entropy_y_given_z * p_z.reshape((-1, 1))[mask])
    return -conditional_entropy


def tllib_h_score(features, labels):
    f = features
    y = labels
    covf = np.cov(f, rowvar=False)
    C = int(y.max() + 1)
    g = np.zeros_like(f)
    for i in range(C):
        Ef_i = np.mean(f[y == i, :], axis=0)
        g[y == i] = Ef_i
    covg = np.cov(g, rowvar=False)
    return np.trace(np.dot(np.linalg.pinv(covf, rcond=1e-15), covg))


# ---- synthetic fixture -----------------------------------------------------------------------

def blobs(rng, n, d, k, spread):
    y = np.arange(n) % k
    rng.shuffle(y)
    centers = rng.normal(0.0, spread, size=(k, d))
    x = centers[y] + rng.normal(0.0, 1.0, size=(n, d)) + rng.normal(0.0, 0.5, size=(1, d))
    return x, y


def logreg(x, y, sw=None, tight=True, **kw):
    opts = dict(tol=1e-10, max_iter=10000) if tight else {}
    return LogisticRegression(**opts, **kw).fit(x, y, sample_weight=sw)


def synth() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20261129)
    out: dict[str, np.ndarray] = {}
    x, y = blobs(rng, 400, 20, 4, 0.6)
    xtr, ytr, xte, yte = x[:300], y[:300], x[300:], y[300:]
    sw = rng.uniform(0.2, 2.0, size=300)
    out.update(x_train=xtr, y_train=ytr, x_test=xte, y_test=yte, sample_weight=sw)

    # Logistic regression, tight tolerance so coefficients are comparable to ~1e-6.
    m = logreg(xtr, ytr)
    out.update(lr_coef=m.coef_, lr_intercept=m.intercept_, lr_proba=m.predict_proba(xte))
    m = logreg(xtr, ytr, sw, C=0.3)
    out.update(lr_w_coef=m.coef_, lr_w_intercept=m.intercept_)
    m = logreg(xtr, ytr, fit_intercept=False, C=10.0)
    out.update(lr_noint_coef=m.coef_)
    yb = (ytr >= 2).astype(np.int64)
    m = logreg(xtr, yb, C=0.5)
    out.update(y_binary=yb, lr_bin_coef=m.coef_, lr_bin_intercept=m.intercept_,
               lr_bin_proba=m.predict_proba(xte), lr_bin_decision=m.decision_function(xte))
    p = make_pipeline(StandardScaler(), LogisticRegression(tol=1e-10, max_iter=10000)).fit(xtr, ytr)
    out.update(lr_std_coef=p[-1].coef_, lr_std_intercept=p[-1].intercept_, lr_std_proba=p.predict_proba(xte))
    # Default tolerance: the iteration count L-BFGS-B needs, and the predictions.
    m = logreg(xtr, ytr, tight=False)
    out.update(lr_default_n_iter=np.array(m.n_iter_[0]), lr_default_pred=m.predict(xte),
               lr_default_coef=m.coef_)

    # Ridge classifier: primal (d <= n), kernel (d > n), weighted, binary.
    m = RidgeClassifier().fit(xtr, ytr)
    out.update(ridge_coef=m.coef_, ridge_intercept=m.intercept_, ridge_decision=m.decision_function(xte))
    m = RidgeClassifier(alpha=3.0).fit(xtr, ytr, sample_weight=sw)
    out.update(ridge_w_coef=m.coef_, ridge_w_intercept=m.intercept_)
    m = RidgeClassifier().fit(xtr, yb)
    out.update(ridge_bin_coef=m.coef_, ridge_bin_intercept=m.intercept_)
    xw, yw = blobs(rng, 40, 60, 3, 0.8)
    m = RidgeClassifier(alpha=0.5).fit(xw, yw)
    out.update(x_wide=xw, y_wide=yw, ridge_wide_coef=m.coef_, ridge_wide_intercept=m.intercept_)

    # k-NN.
    for name, metric in [("euclidean", "euclidean"), ("cosine", "cosine")]:
        m = KNeighborsClassifier(n_neighbors=5, metric=metric, algorithm="brute").fit(xtr, ytr)
        out[f"knn_{name}_pred"] = m.predict(xte)
        out[f"knn_{name}_proba"] = m.predict_proba(xte)
    m = KNeighborsClassifier(n_neighbors=4, algorithm="brute").fit(xtr, ytr)
    out["knn4_pred"] = m.predict(xte)

    # Linear SVM, liblinear dual coordinate descent.
    m = LinearSVC(dual=True, random_state=0, tol=1e-4, max_iter=1000).fit(xtr, ytr)
    out.update(svm_coef=m.coef_, svm_intercept=m.intercept_, svm_pred=m.predict(xte),
               svm_decision=m.decision_function(xte))
    m = LinearSVC(dual=True, random_state=0, tol=1e-8, max_iter=100000).fit(xtr, yb)
    out.update(svm_bin_coef=m.coef_, svm_bin_intercept=m.intercept_, svm_bin_pred=m.predict(xte))

    # Metrics.
    pred = out["lr_default_pred"].copy()
    pred[:5] = 7  # a label that never occurs in y_test
    out.update(metric_pred=pred, metric_f1=np.array(f1_score(yte, pred, average="macro", zero_division=0)))

    # Transferability scores.
    out["logme"] = np.array(tllib_log_maximum_evidence(xtr, ytr))
    xs = xtr[:15]
    ys = ytr[:15]
    out.update(logme_wide_labels=ys, logme_wide=np.array(tllib_log_maximum_evidence(xs, ys)))
    out["hscore"] = np.array(tllib_h_score(xtr, ytr))
    z = xtr[:, :6] @ rng.normal(size=(6, 6))
    probs = np.exp(z - z.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    out.update(source_probs=probs, leep=np.array(tllib_leep(probs, ytr)))
    src = probs.argmax(axis=1)
    out.update(source_labels=src, nce=np.array(tllib_nce(src, ytr)))
    return out


# ---- MNIST -> USPS ---------------------------------------------------------------------------

def mnist_usps(data: Path) -> dict:
    z = np.load(data / "jda_mnist_usps_coil" / "mnist_usps_jda.npz")
    xs, ys = z["mnist_X"].astype(np.float64), z["mnist_y"].astype(np.int64).ravel()
    xt, yt = z["usps_X"].astype(np.float64), z["usps_y"].astype(np.int64).ravel()
    ys -= ys.min()
    yt -= yt.min()
    res = {"shapes": [list(xs.shape), list(xt.shape)], "label_min_subtracted": True}

    def acc(m):
        return float((m.predict(xt) == yt).mean())

    lr = LogisticRegression().fit(xs, ys)
    res["logreg"] = {"accuracy": acc(lr), "n_iter": int(lr.n_iter_[0])}
    res["ridge"] = {"accuracy": acc(RidgeClassifier().fit(xs, ys))}
    res["knn1_euclidean"] = {"accuracy": acc(KNeighborsClassifier(n_neighbors=1, algorithm="brute").fit(xs, ys))}
    res["knn5_euclidean"] = {"accuracy": acc(KNeighborsClassifier(algorithm="brute").fit(xs, ys))}
    res["knn5_cosine"] = {"accuracy": acc(KNeighborsClassifier(metric="cosine", algorithm="brute").fit(xs, ys))}
    svc = LinearSVC(dual=True, random_state=0).fit(xs, ys)
    res["linear_svc"] = {"accuracy": acc(svc), "n_iter": int(svc.n_iter_)}
    res["linear_svc_primal"] = {"accuracy": acc(LinearSVC(dual=False).fit(xs, ys))}
    res["logme"] = float(tllib_log_maximum_evidence(xt, yt))
    res["hscore"] = float(tllib_h_score(xt, yt))
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    FIX.mkdir(parents=True, exist_ok=True)
    out = synth()
    out = {k: np.ascontiguousarray(v) for k, v in out.items()}
    np.savez_compressed(FIX / "linalg_synth.npz", **out)
    print(f"wrote {FIX / 'linalg_synth.npz'} ({len(out)} arrays), lr default n_iter {out['lr_default_n_iter']}")
    res = mnist_usps(args.data)
    res["sklearn_version"] = sklearn.__version__
    (FIX / "mnist_usps_sklearn.json").write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    sys.exit(main())
