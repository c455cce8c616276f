#!/usr/bin/env python3
"""Reference outputs of timm's and torchvision's Vision Transformers for graft's ViT parity tests
(crates/graft-nn/tests/vit.rs).

Tiny models (4x4 patch grids, width 48, two blocks) in each family and naming scheme graft loads:
timm's `VisionTransformer` as `vit_*` uses it, with DINOv2's layer scale, with DINOv2's four
register tokens (timm folds the class token's position into `cls_token`: `no_embed_class`), and
torchvision's `VisionTransformer`. Every parameter is drawn at random (layer-scale gammas,
position embeddings and norms included), so a wrong mapping cannot hide behind an identity
initialisation. Each model also runs at a non-native image size the way its family does it:
timm resamples the position grid in the forward pass (`dynamic_img_size`: bicubic, antialiased),
torchvision when the checkpoint is loaded (`interpolate_embeddings`: bicubic, align_corners).

For the full-size models the registry names (vit_tiny_patch16_224, vit_small_patch16_224, vit_base_patch16_224,
vit_small_patch14_dinov2, vit_small_patch14_reg4_dinov2, torchvision vit_b_16) the fixture holds
each state_dict's key names and shapes and the pretrained preprocessing timm gives each name.

    /tmp/pyref/bin/python scripts/reference/vit_reference.py

writes crates/graft-nn/tests/fixtures/vit/{tiny_weights.safetensors,tiny_outputs.safetensors,
full_keys.json}. Needs torch 2.13, torchvision 0.28, timm 1.0.31, safetensors.
"""

import json
import pathlib

import timm
import torch
import torchvision
from safetensors.torch import save_file
from timm.models.vision_transformer import VisionTransformer as TimmViT
from torchvision.models.vision_transformer import VisionTransformer as TvViT
from torchvision.models.vision_transformer import interpolate_embeddings

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/graft-nn/tests/fixtures/vit"
WIDTH, DEPTH, HEADS, CLASSES, BATCH = 48, 2, 3, 5, 2


def perturb(model: torch.nn.Module, seed: int) -> None:
    """Every parameter random: matrices scaled by fan-in, vectors around 1 (norms, layer scale)
    or 0 (biases), embeddings and tokens of unit order."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g)
            if name.endswith("bias"):
                p.copy_(0.1 * r)
            elif p.dim() == 1:
                p.copy_(1.0 + 0.2 * r)
            elif any(t in name for t in ("pos_embed", "pos_embedding", "cls_token", "class_token", "reg_token")):
                p.copy_(0.5 * r)
            else:
                fan_in = p[0].numel()
                p.copy_(r / fan_in**0.5)


def timm_case(name: str, seed: int, patch: int, **kw):
    side = 4 * patch
    model = TimmViT(
        img_size=side, patch_size=patch, embed_dim=WIDTH, depth=DEPTH, num_heads=HEADS,
        num_classes=CLASSES, dynamic_img_size=True, **kw,
    ).eval()
    perturb(model, seed)
    return model, side


def timm_outputs(model, x: torch.Tensor) -> dict:
    """The embedded patches' mean (positions added), pooled features after each block (final
    norm, then the class token), the patch tokens' mean after the last, and the logits."""
    out = {}
    with torch.no_grad():
        h = model._pos_embed(model.patch_embed(x))
        out["patch_embed"] = h[:, model.num_prefix_tokens:].mean(1)
        for i, blk in enumerate(model.blocks):
            h = blk(h)
            out[f"blocks.{i}"] = model.norm(h)[:, 0]
        feats = model.forward_head(model.forward_features(x), pre_logits=True)
        out["features"] = feats
        out["avg"] = model.norm(h)[:, model.num_prefix_tokens:].mean(1)
        out["logits"] = model(x)
    return out


def tv_outputs(model, x: torch.Tensor) -> dict:
    out = {}
    with torch.no_grad():
        n = x.shape[0]
        h = model._process_input(x)
        h = torch.cat([model.class_token.expand(n, -1, -1), h], dim=1)
        h = h + model.encoder.pos_embedding
        out["patch_embed"] = h[:, 1:].mean(1)
        for i, blk in enumerate(model.encoder.layers):
            h = blk(h)
            out[f"blocks.{i}"] = model.encoder.ln(h)[:, 0]
        out["features"] = model.encoder.ln(h)[:, 0]
        out["avg"] = model.encoder.ln(h)[:, 1:].mean(1)
        out["logits"] = model(x)
    return out


def image(side: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn((BATCH, 3, side, side), generator=g)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    weights, outputs, meta = {}, {}, {}

    cases = {
        # vit_* as timm builds them: class token with its own position, GELU, qkv bias.
        "timm_vit": dict(seed=1, patch=8),
        # DINOv2 in timm's layout: layer scale, patch 14 scaled down to 7.
        "timm_dinov2": dict(seed=2, patch=7, init_values=1e-5),
        # DINOv2 with registers: four register tokens, positions for the patches only.
        "timm_dinov2_reg4": dict(seed=3, patch=7, init_values=1e-5, reg_tokens=4, no_embed_class=True),
    }
    for case, kw in cases.items():
        seed = kw.pop("seed")
        model, side = timm_case(case, seed, **kw)
        for k, v in model.state_dict().items():
            weights[f"{case}.{k}"] = v.contiguous()
        for tag, s in (("native", side), ("resized", side * 3 // 2)):
            x = image(s, seed + 100)
            outputs[f"{case}.{tag}.input"] = x
            for k, v in timm_outputs(model, x).items():
                outputs[f"{case}.{tag}.{k}"] = v
        meta[case] = dict(side=side, patch=kw["patch"])

    # torchvision: the checkpoint resized at load time for the non-native size.
    case, seed, patch = "torchvision_vit", 4, 8
    side = 4 * patch
    model = TvViT(image_size=side, patch_size=patch, num_layers=DEPTH, num_heads=HEADS,
                  hidden_dim=WIDTH, mlp_dim=4 * WIDTH, num_classes=CLASSES).eval()
    perturb(model, seed)
    sd = model.state_dict()
    for k, v in sd.items():
        weights[f"{case}.{k}"] = v.contiguous()
    x = image(side, seed + 100)
    outputs[f"{case}.native.input"] = x
    for k, v in tv_outputs(model, x).items():
        outputs[f"{case}.native.{k}"] = v
    big = side * 3 // 2
    resized = TvViT(image_size=big, patch_size=patch, num_layers=DEPTH, num_heads=HEADS,
                    hidden_dim=WIDTH, mlp_dim=4 * WIDTH, num_classes=CLASSES).eval()
    resized.load_state_dict(interpolate_embeddings(big, patch, sd))
    x = image(big, seed + 100)
    outputs[f"{case}.resized.input"] = x
    for k, v in tv_outputs(resized, x).items():
        outputs[f"{case}.resized.{k}"] = v
    meta[case] = dict(side=side, patch=patch)

    save_file(weights, OUT / "tiny_weights.safetensors")
    save_file({k: v.contiguous() for k, v in outputs.items()}, OUT / "tiny_outputs.safetensors")

    full = {}
    for name in ["vit_tiny_patch16_224", "vit_small_patch16_224", "vit_base_patch16_224", "vit_small_patch14_dinov2",
                 "vit_small_patch14_reg4_dinov2"]:
        m = timm.create_model(name, pretrained=False)
        cfg = m.pretrained_cfg
        full[name] = dict(
            keys=[[k, list(v.shape)] for k, v in m.state_dict().items()],
            input_size=list(cfg["input_size"]), crop_pct=cfg["crop_pct"],
            interpolation=cfg["interpolation"], mean=list(cfg["mean"]), std=list(cfg["std"]),
            num_classes=m.num_classes,
        )
    m = torchvision.models.vit_b_16()
    full["vit_b_16"] = dict(keys=[[k, list(v.shape)] for k, v in m.state_dict().items()],
                            num_classes=1000)
    meta["versions"] = dict(torch=torch.__version__, torchvision=torchvision.__version__,
                            timm=timm.__version__)
    (OUT / "full_keys.json").write_text(json.dumps(dict(full=full, tiny=meta), indent=1) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
