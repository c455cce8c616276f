"""Reference probabilities of the linear heads without `predict_proba` (RidgeClassifier,
LinearSVC): scikit-learn's `_predict_proba_lr`, which ADAPT's TrAdaBoost uses for such heads
(adapt/instance_based/_tradaboost.py: `predict_proba`, else `_predict_proba_lr`, else
`predict`). graft_shallow::proba_from_decision must give the same from the same scores.

    python3 scripts/reference/proba_lr.py

writes crates/graft-shallow/tests/fixtures/proba_lr_reference.json. Needs numpy, scikit-learn.
"""

import json
import pathlib

import numpy as np
from sklearn.linear_model import RidgeClassifier

OUT = (
    pathlib.Path(__file__).resolve().parents[2]
    / "crates/graft-shallow/tests/fixtures/proba_lr_reference.json"
)
rng = np.random.default_rng(7)
cases = []
for k in (2, 3):
    x = rng.normal(size=(40, 4)) + np.repeat(np.arange(k), 40 // k + 1)[:40, None] * 0.8
    y = np.repeat(np.arange(k), 40 // k + 1)[:40]
    w = rng.uniform(0.2, 2.0, size=40)
    m = RidgeClassifier(alpha=1.0).fit(x, y, sample_weight=w)
    cases.append(
        {
            "classes": k,
            "x": x.tolist(),
            "y": y.tolist(),
            "w": w.tolist(),
            "decision": np.atleast_2d(m.decision_function(x).reshape(40, -1)).tolist(),
            "proba": m._predict_proba_lr(x).tolist(),
        }
    )
OUT.write_text(json.dumps(cases) + "\n")
print(f"wrote {OUT}")
