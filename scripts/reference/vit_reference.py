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

For the full-size models the registry names (timm's vit_tiny/small/base_patch16_224,
vit_small_patch14_dinov2 and its reg4 variant, torchvision's vit_b_16, DINOv2's own
dinov2_vits14[_reg], Hugging Face's DINOv2-small with and without registers) the fixture holds
each state_dict's key names and shapes and the pretrained preprocessing timm gives each name.

writes crates/graft-nn/tests/fixtures/vit/{tiny_weights.safetensors,tiny_outputs.safetensors,
full_keys.json}. Needs torch 2.13, torchvision 0.28, timm 1.0.31, transformers 5.23, safetensors,
and the facebookresearch/dinov2 repository (commit b8931f7) on PYTHONPATH:

    PYTHONPATH=/path/to/dinov2 /tmp/pyref/bin/python scripts/reference/vit_reference.py

Also covered: DINOv2's own layout (`register_tokens` inserted after the positions, an unused
`mask_token`, the 0.1 interpolation offset) and Hugging Face's `Dinov2Model`,
`Dinov2WithRegistersModel` and `ViTModel` saved under their hub files' names. DINOv2 has no
classifier; a perturbed linear head is added under the layout's head name for the logits.
"""

import json
import pathlib
import tempfile

import timm
import torch
import torchvision
from safetensors.torch import save_file
from timm.models.vision_transformer import VisionTransformer as TimmViT
from torchvision.models.vision_transformer import VisionTransformer as TvViT
from torchvision.models.vision_transformer import interpolate_embeddings
from safetensors.torch import load_file
import transformers
from transformers import (Dinov2Config, Dinov2Model, Dinov2WithRegistersConfig,
                          Dinov2WithRegistersModel, ViTConfig, ViTModel)
# DINOv2's own code: the facebookresearch/dinov2 repository on PYTHONPATH (not on PyPI at its
# current version, which has the registers and the interpolation options).
from dinov2.models.vision_transformer import DinoVisionTransformer
from peft import LoraConfig, get_peft_model, get_peft_model_state_dict
from random_models import keys, perturb, timm_full

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/graft-nn/tests/fixtures/vit"
WIDTH, DEPTH, HEADS, CLASSES, BATCH = 48, 2, 3, 5, 2


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


def hub_outputs(model, head, x: torch.Tensor) -> dict:
    """DINOv2's own model: tokens from `prepare_tokens_with_masks`, its blocks and norm."""
    out = {}
    with torch.no_grad():
        h = model.prepare_tokens_with_masks(x)
        out["patch_embed"] = h[:, 1 + model.num_register_tokens:].mean(1)
        for i, blk in enumerate(model.blocks):
            h = blk(h)
            out[f"blocks.{i}"] = model.norm(h)[:, 0]
        feats = model.forward_features(x)
        out["features"] = feats["x_norm_clstoken"]
        out["avg"] = feats["x_norm_patchtokens"].mean(1)
        out["logits"] = head(model(x))
    return out


def hf_outputs(model, head, x: torch.Tensor, prefix: int, **kw) -> dict:
    """A Hugging Face model through its hidden states (the embeddings' first)."""
    out = {}
    with torch.no_grad():
        r = model(pixel_values=x, output_hidden_states=True, **kw)
        hs = r.hidden_states
        out["patch_embed"] = hs[0][:, prefix:].mean(1)
        for i in range(DEPTH):
            out[f"blocks.{i}"] = model.layernorm(hs[i + 1])[:, 0]
        out["features"] = r.last_hidden_state[:, 0]
        out["avg"] = r.last_hidden_state[:, prefix:].mean(1)
        out["logits"] = head(out["features"])
    return out


def hub_file(model) -> dict:
    """The state dict as `save_pretrained` writes it: the hub files' names (transformers 5
    renames the attention modules in memory and back on saving)."""
    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d)
        return load_file(f"{d}/model.safetensors")


def new_head(seed: int) -> torch.nn.Linear:
    """A classifier for models published without one (DINOv2), perturbed like the rest."""
    head = torch.nn.Linear(WIDTH, CLASSES)
    perturb(head, seed)
    return head


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
    rebuild = {}
    for case, kw in cases.items():
        seed = kw.pop("seed")
        model, side = timm_case(case, seed, **kw)
        rebuild[case] = lambda seed=seed, kw=dict(kw): timm_case("", seed, **kw)[0]
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

    # DINOv2's own code, as torch.hub builds it: interpolation offset 0.1 without registers,
    # antialiased size-based resize with them.
    for case, seed, regs in (("dinov2_hub", 5, 0), ("dinov2_hub_reg4", 6, 4)):
        patch = 7
        side = 4 * patch
        model = DinoVisionTransformer(
            img_size=side, patch_size=patch, embed_dim=WIDTH, depth=DEPTH, num_heads=HEADS,
            init_values=1.0, block_chunks=0, num_register_tokens=regs,
            interpolate_antialias=regs > 0, interpolate_offset=0.0 if regs else 0.1,
        ).eval()
        perturb(model, seed)
        head = new_head(seed + 50)
        for k, v in model.state_dict().items():
            weights[f"{case}.{k}"] = v.contiguous()
        for k, v in head.state_dict().items():
            weights[f"{case}.head.{k}"] = v.contiguous()
        for tag, s in (("native", side), ("resized", side * 3 // 2)):
            x = image(s, seed + 100)
            outputs[f"{case}.{tag}.input"] = x
            for k, v in hub_outputs(model, head, x).items():
                outputs[f"{case}.{tag}.{k}"] = v
        meta[case] = dict(side=side, patch=patch)

    # Hugging Face, saved under the hub files' names.
    hf_cases = {
        "hf_dinov2": (7, Dinov2Model, Dinov2Config(
            hidden_size=WIDTH, num_hidden_layers=DEPTH, num_attention_heads=HEADS,
            image_size=28, patch_size=7), 1, {}),
        "hf_dinov2_reg4": (8, Dinov2WithRegistersModel, Dinov2WithRegistersConfig(
            hidden_size=WIDTH, num_hidden_layers=DEPTH, num_attention_heads=HEADS,
            image_size=28, patch_size=7, num_register_tokens=4), 5, {}),
        "hf_vit": (9, ViTModel, ViTConfig(
            hidden_size=WIDTH, num_hidden_layers=DEPTH, num_attention_heads=HEADS,
            intermediate_size=4 * WIDTH, image_size=32, patch_size=8), 1,
            {"interpolate_pos_encoding": True}),
    }
    def hf_model(cls, cfg, seed):
        model = cls(cfg).eval()
        perturb(model, seed)
        return model

    for case, (seed, cls, cfg, prefix, kw) in hf_cases.items():
        model = hf_model(cls, cfg, seed)
        rebuild[case] = lambda cls=cls, cfg=cfg, seed=seed: hf_model(cls, cfg, seed)
        head = new_head(seed + 50)
        for k, v in hub_file(model).items():
            weights[f"{case}.{k}"] = v.contiguous()
        for k, v in head.state_dict().items():
            weights[f"{case}.classifier.{k}"] = v.contiguous()
        side = cfg.image_size
        for tag, s in (("native", side), ("resized", side * 3 // 2)):
            x = image(s, seed + 100)
            outputs[f"{case}.{tag}.input"] = x
            for k, v in hf_outputs(model, head, x, prefix, **kw).items():
                outputs[f"{case}.{tag}.{k}"] = v
        meta[case] = dict(side=side, patch=cfg.patch_size)

    # LoRA with PEFT (Hu et al. 2021, eq. 3) on timm's fused qkv and the second MLP layer,
    # and on Hugging Face's query and value, adapters perturbed (PEFT starts B at zero). The
    # adapters are stored under PEFT's own keys (`base_model.model.<key>`), the base weights are
    # the cases' above.
    # transformers 5 names Dinov2's projections q_proj / v_proj in memory and writes the hub
    # files' attention.attention.query / value; the adapters are renamed the same way, which
    # gives the names PEFT adapters trained on transformers 4 models have.
    hub_names = {"attention.q_proj.": "attention.attention.query.",
                 "attention.v_proj.": "attention.attention.value."}
    lora_cases = {
        "timm_vit": (["qkv", "fc2"], 10),
        "hf_dinov2": (["q_proj", "v_proj"], 11),
    }
    for case, (targets, seed) in lora_cases.items():
        base = rebuild[case]()
        model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=targets))
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if "lora_" in name:
                    p.copy_(0.3 * torch.randn(p.shape, generator=g))
        model.eval()
        for k, v in get_peft_model_state_dict(model).items():
            for new, old in hub_names.items():
                k = k.replace(new, old)
            weights[f"{case}_lora.{k}"] = v.contiguous()
        x = outputs[f"{case}.native.input"]
        with torch.no_grad():
            if case.startswith("hf_"):
                feats = model(pixel_values=x).last_hidden_state[:, 0]
            else:
                feats = model.forward_head(model.forward_features(x), pre_logits=True)
        outputs[f"{case}_lora.native.features"] = feats
    meta["peft"] = __import__("peft").__version__

    save_file(weights, OUT / "tiny_weights.safetensors")
    save_file({k: v.contiguous() for k, v in outputs.items()}, OUT / "tiny_outputs.safetensors")

    full = {}
    for name in ["vit_tiny_patch16_224", "vit_small_patch16_224", "vit_base_patch16_224", "vit_small_patch14_dinov2",
                 "vit_small_patch14_reg4_dinov2"]:
        full[name] = timm_full(name)
    m = torchvision.models.vit_b_16()
    full["vit_b_16"] = dict(keys=keys(m.state_dict()),
                            num_classes=1000)
    # DINOv2 S/14 in its own layout (torch.hub's arguments) and in Hugging Face's
    # (facebook/dinov2-small and facebook/dinov2-with-registers-small's configurations).
    for name, regs in (("dinov2_vits14", 0), ("dinov2_vits14_reg", 4)):
        m = DinoVisionTransformer(img_size=518, patch_size=14, embed_dim=384, depth=12,
                                  num_heads=6, init_values=1.0, block_chunks=0,
                                  num_register_tokens=regs)
        full[name] = dict(keys=keys(m.state_dict()),
                          num_classes=0)
    small = dict(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, image_size=518,
                 patch_size=14)
    for name, m in (("hf_dinov2_small", Dinov2Model(Dinov2Config(**small))),
                    ("hf_dinov2_with_registers_small",
                     Dinov2WithRegistersModel(Dinov2WithRegistersConfig(**small)))):
        full[name] = dict(keys=keys(hub_file(m)),
                          num_classes=0)
    meta["versions"] = dict(torch=torch.__version__, torchvision=torchvision.__version__,
                            timm=timm.__version__, transformers=transformers.__version__,
                            dinov2="facebookresearch/dinov2 b8931f7")
    (OUT / "full_keys.json").write_text(json.dumps(dict(full=full, tiny=meta), indent=1) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
