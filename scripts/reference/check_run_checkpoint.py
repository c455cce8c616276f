"""Checks that the model of a graft training run loads into the same architecture in PyTorch.

    /path/to/python scripts/reference/check_run_checkpoint.py runs/finetune-resnet18-001 [...]

For each run directory: reads recipe.toml (model, classes), builds the PyTorch model with that
many classes (torchvision ResNets; the plain-PyTorch EfficientNet-Lite0 of
scripts/bench/extract_torch.py; LeNet defined below with graft's key names), loads
model.safetensors with load_state_dict(strict=True), which fails on any missing or unexpected
key or shape, checks every value arrived unchanged, and runs a forward pass. Needs torch,
torchvision, safetensors.
"""

import pathlib
import sys
import tomllib

import torch
import torch.nn as nn
import torchvision
from safetensors.torch import load_file

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "bench"))


class LeNet(nn.Module):
    """graft's `lenet`: conv1 (1->20, 5x5), conv2 (20->50, 5x5), fc1 (800->500), fc."""

    def __init__(self, k):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.fc1 = nn.Linear(800, 500)
        self.fc = nn.Linear(500, k)

    def forward(self, x):
        x = torch.relu(torch.max_pool2d(self.conv1(x), 2))
        x = torch.relu(torch.max_pool2d(self.conv2(x), 2))
        return self.fc(torch.relu(self.fc1(x.flatten(1))))


def build(arch, k):
    if arch.startswith("resnet"):
        return getattr(torchvision.models, arch)(weights=None, num_classes=k), (3, 224, 224)
    if arch == "efficientnet_lite0":
        from extract_torch import EfficientNetLite0  # noqa: E402

        m = EfficientNetLite0()
        m._fc = nn.Linear(1280, k)
        return m, (3, 224, 224)
    if arch == "lenet":
        return LeNet(k), (1, 28, 28)
    raise SystemExit(f"no PyTorch definition for {arch}")


def check(run: pathlib.Path) -> None:
    recipe = tomllib.loads((run / "recipe.toml").read_text())
    arch, k = recipe["model"], len(recipe["classes"])
    model, shape = build(arch, k)
    sd = load_file(str(run / "model.safetensors"))
    model.load_state_dict(sd, strict=True)
    for key, v in model.state_dict().items():
        assert torch.equal(v, sd[key].to(v.dtype)), key
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(2, *shape))
    assert out.shape == (2, k), out.shape
    print(f"{run}: {arch} with {k} classes loads strictly ({len(sd)} tensors), forward {tuple(out.shape)}")


if __name__ == "__main__":
    for p in sys.argv[1:]:
        check(pathlib.Path(p))
