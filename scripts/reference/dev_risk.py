"""Reference values of deep embedded validation's risk (You et al. 2019, ICML, eq. 7) for
graft_nn::train::adapt::dev::dev_risk, computed with the authors' own `get_dev_risk`
(thuml/Deep-Embedded-Validation, dev.py), copied below unchanged but for its asserts:

    weighted_error = weight * error
    cov = np.cov(np.concatenate((weighted_error, weight), axis=1), rowvar=False)[0][1]
    var_w = np.var(weight, ddof=1)
    eta = - cov / var_w
    return np.mean(weighted_error) + eta * np.mean(weight) - eta

Cases: 0/1 errors (the reference's "typically 0 for correct classification and 1 for wrong")
with well-fitted weights, with heavy-tailed weights (whose estimate leaves [0, 1]), and with
real-valued losses.

    python3 scripts/reference/dev_risk.py

writes crates/graft-nn/tests/fixtures/dev_risk_reference.json. Needs numpy.
"""

import json
import pathlib

import numpy as np

OUT = (
    pathlib.Path(__file__).resolve().parents[2]
    / "crates/graft-nn/tests/fixtures/dev_risk_reference.json"
)


def get_dev_risk(weight, error):
    weighted_error = weight * error
    cov = np.cov(np.concatenate((weighted_error, weight), axis=1), rowvar=False)[0][1]
    var_w = np.var(weight, ddof=1)
    eta = -cov / var_w
    return np.mean(weighted_error) + eta * np.mean(weight) - eta, eta


rng = np.random.default_rng(20261208)
cases = []
for name, weight, error in [
    (
        "well fitted weights, 0/1 errors",
        rng.gamma(4.0, 0.25, size=(300, 1)),
        (rng.random((300, 1)) < 0.2).astype(np.float64),
    ),
    (
        "heavy-tailed weights, 0/1 errors",
        np.exp(rng.normal(0.8, 1.6, size=(120, 1))),
        (rng.random((120, 1)) < 0.3).astype(np.float64),
    ),
    (
        "cross-entropy losses",
        rng.gamma(2.0, 0.5, size=(200, 1)),
        rng.exponential(0.7, size=(200, 1)),
    ),
]:
    risk, eta = get_dev_risk(weight, error)
    cases.append(
        {
            "name": name,
            "weights": weight[:, 0].tolist(),
            "errors": error[:, 0].tolist(),
            "risk": float(risk),
            "eta": float(eta),
            "weighted_error": float(np.mean(weight * error)),
            "mean_weight": float(np.mean(weight)),
        }
    )
OUT.write_text(json.dumps(cases, indent=1) + "\n")
for c in cases:
    print(f"{c['name']}: risk {c['risk']:.6f}, eta {c['eta']:.6f}, mean weight {c['mean_weight']:.4f}")
