"""What the model parity scripts (vit_reference.py, convnext_reference.py) share: filling a
model with random values so that no parameter keeps an initialisation a wrong mapping could
hide behind, and the key names, shapes and pretrained preprocessing of a full-size timm model.
Imported from the scripts' own folder.
"""

import timm
import torch

# Parameters of unit order: position embeddings and the class / register tokens.
TOKENS = ("pos_embed", "pos_embedding", "cls_token", "class_token", "reg_token")


def perturb(model: torch.nn.Module, seed: int) -> None:
    """Every parameter random: biases around 0, vectors (norms, layer scales) around 1,
    tokens and position embeddings of unit order, matrices scaled by their fan-in."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g)
            if name.endswith("bias"):
                p.copy_(0.1 * r)
            elif p.dim() == 1 or "layer_scale" in name:
                p.copy_(1.0 + 0.2 * r)
            elif any(t in name for t in TOKENS):
                p.copy_(0.5 * r)
            else:
                p.copy_(r / p[0].numel() ** 0.5)


def keys(state_dict: dict) -> list:
    """`[name, shape]` of every tensor, in the state dict's order."""
    return [[k, list(v.shape)] for k, v in state_dict.items()]


def timm_full(name: str) -> dict:
    """The key names and shapes of timm's `name` and its default pretrained preprocessing."""
    m = timm.create_model(name, pretrained=False)
    cfg = m.pretrained_cfg
    return dict(
        keys=keys(m.state_dict()),
        input_size=list(cfg["input_size"]), crop_pct=cfg["crop_pct"],
        interpolation=cfg["interpolation"], mean=list(cfg["mean"]), std=list(cfg["std"]),
        num_classes=m.num_classes,
    )
