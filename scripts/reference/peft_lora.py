"""A graft LoRA run against PEFT, the reference implementation of LoRA adapters.

Checks that
  1. RUN/adapter (adapter_model.safetensors + adapter_config.json) loads into PEFT on the base
     model: every adapter tensor is found, none is left over, the values are the file's;
  2. the PEFT model's sentence embeddings (masked mean + L2, as the base model pools) equal those
     of RUN opened with Transformers as a plain model (graft's merged weights, --merge-lora);
  3. they equal `graft extract --model RUN` on the same sentences (graft's own forward pass).

    python scripts/reference/peft_lora.py BASE_DIR RUN_DIR GRAFT_BINARY

Needs torch, transformers, peft, safetensors and numpy. Prints the largest differences and exits
non-zero when one exceeds 1e-4.
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from peft import PeftModel, get_peft_model_state_dict
from safetensors.numpy import load_file
from transformers import AutoModel, AutoTokenizer

SENTENCES = [
    "This is an example sentence.",
    "The kitchen blender broke after two days; I want a refund.",
    "An excellent novel, hard to put down.",
    "Works fine, but the lid leaks.",
]


def embed(model, tok):
    enc = tok(SENTENCES, padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.no_grad():
        h = model(**enc).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    e = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(e, p=2, dim=1).numpy()


def main():
    base_dir, run_dir, graft = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    tok = AutoTokenizer.from_pretrained(base_dir)
    base = AutoModel.from_pretrained(base_dir).eval()
    peft_model = PeftModel.from_pretrained(base, run_dir / "adapter").eval()

    file = load_file(str(run_dir / "adapter" / "adapter_model.safetensors"))
    loaded = {k: v.numpy() for k, v in get_peft_model_state_dict(peft_model).items()}
    assert set(file) == set(loaded), (sorted(set(file) ^ set(loaded)))[:5]
    worst_load = max(float(np.abs(file[k] - loaded[k]).max()) for k in file)
    print(f"adapter tensors: {len(file)} in the file, {len(loaded)} loaded by PEFT, "
          f"max |diff| {worst_load:.1e}")

    e_peft = embed(peft_model, tok)
    merged = AutoModel.from_pretrained(run_dir).eval()
    e_merged = embed(merged, tok)

    with tempfile.TemporaryDirectory() as d:
        data = Path(d) / "s.jsonl"
        data.write_text("".join(json.dumps({"text": s, "label": "s"}) + "\n" for s in SENTENCES))
        out = Path(d) / "f.npz"
        subprocess.run([graft, "extract", "--model", str(run_dir), "--data", str(data),
                        "--out", str(out), "--max-length", "128", "--json"],
                       check=True, stdout=subprocess.DEVNULL)
        e_graft = np.load(out)["X"]

    d_merged = float(np.abs(e_peft - e_merged).max())
    d_graft = float(np.abs(e_peft - e_graft).max())
    moved = float(np.abs(e_peft - embed(AutoModel.from_pretrained(base_dir).eval(), tok)).max())
    print(f"PEFT vs graft's merged weights in Transformers: max |diff| {d_merged:.1e}")
    print(f"PEFT vs graft extract on the merged run:       max |diff| {d_graft:.1e}")
    print(f"(the adapters moved the embeddings by up to {moved:.1e} from the base model)")
    sys.exit(0 if max(worst_load, d_merged, d_graft) < 1e-4 else 1)


if __name__ == "__main__":
    main()
