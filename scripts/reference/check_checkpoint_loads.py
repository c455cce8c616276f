"""Checks that checkpoints graft saves load into torchvision with strict key matching.

    GRAFT_KEEP_CHECKPOINTS=/tmp/ck cargo test -p graft-nn --test backbones saved_resnets
    /path/to/python scripts/reference/check_checkpoint_loads.py /tmp/ck

loads every `<arch>.safetensors` in the folder (arch: resnet18, resnet34, resnet50) into
`torchvision.models.<arch>()` with `load_state_dict(strict=True)`, which fails on any missing
or unexpected key or shape mismatch, checks that every value arrived unchanged, and runs one
forward pass. Needs torch, torchvision, safetensors.
"""

import pathlib
import sys

import torch
import torchvision
from safetensors import safe_open
from safetensors.torch import load_file


def check(path: pathlib.Path) -> None:
    arch = path.stem
    model = getattr(torchvision.models, arch)(weights=None).eval()
    sd = load_file(str(path))
    model.load_state_dict(sd, strict=True)
    for k, v in model.state_dict().items():
        assert v.dtype == sd[k].dtype and torch.equal(v, sd[k]), k
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    with torch.no_grad():
        logits = model(torch.zeros(1, 3, 64, 64))
    print(f"{path.name}: {len(sd)} tensors, strict load OK, values equal, "
          f"logits {tuple(logits.shape)}, metadata {meta}")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    files = sorted(pathlib.Path(sys.argv[1]).glob("resnet*.safetensors"))
    if not files:
        sys.exit(f"no resnet*.safetensors in {sys.argv[1]}")
    for f in files:
        check(f)


if __name__ == "__main__":
    main()
