#!/usr/bin/env python3
"""Reference for graft-shallow's t-SNE (crates/graft-shallow/src/tsne.rs): scikit-learn's exact
t-SNE of a small real data set, and its trustworthiness.

Writes crates/graft-shallow/tests/fixtures/tsne_digits.json:
  x                        the first 300 scikit-learn digits (8x8), centred and projected on
                           their 20 leading principal axes (continuous values: no distance ties,
                           so neighbour ranks are well defined), rounded to 5 decimals
  sklearn_embedding        TSNE(method="exact", perplexity=30, init="pca", random_state=0)
  sklearn_trustworthiness  sklearn.manifold.trustworthiness(x, embedding, n_neighbors=k)
  sklearn_kl_divergence    its kl_divergence_, sklearn_n_iter its n_iter_

t-SNE is not reproducible across implementations (PCA signs, float order), so the Rust test
compares quality (trustworthiness, KL divergence), not coordinates.

    /tmp/pyref/bin/python scripts/reference/tsne_reference.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE, trustworthiness

N, DIM, PERPLEXITY, K = 300, 20, 30.0, 5


def main() -> None:
    digits = load_digits()
    x = PCA(n_components=DIM, svd_solver="full").fit_transform(digits.data[:N].astype(np.float64))
    x = np.round(x, 5)
    tsne = TSNE(
        n_components=2,
        perplexity=PERPLEXITY,
        method="exact",
        init="pca",
        learning_rate="auto",
        random_state=0,
    )
    emb = tsne.fit_transform(x)
    t = trustworthiness(x, emb, n_neighbors=K)
    out = {
        "sklearn_version": sklearn.__version__,
        "perplexity": PERPLEXITY,
        "k": K,
        "x": x.tolist(),
        "sklearn_embedding": np.round(emb.astype(np.float64), 6).tolist(),
        "sklearn_kl_divergence": float(tsne.kl_divergence_),
        "sklearn_n_iter": int(tsne.n_iter_),
        "labels": digits.target[:N].tolist(),
    }
    # The trustworthiness of the stored (rounded) embedding, which the test recomputes.
    out["sklearn_trustworthiness"] = float(
        trustworthiness(x, np.array(out["sklearn_embedding"]), n_neighbors=K)
    )
    path = Path(__file__).resolve().parents[2] / "crates/graft-shallow/tests/fixtures/tsne_digits.json"
    path.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"{path}: trustworthiness {t:.4f}, KL {tsne.kl_divergence_:.4f}, {tsne.n_iter_} iterations")


if __name__ == "__main__":
    main()
