"""Reference trajectories of torch.optim.SGD (momentum, Nesterov, weight decay) and AdamW on a
fixed quadratic, for graft-nn's optimiser tests (crates/graft-nn/tests/fixtures/optim_reference.json).

Loss: sum(c * (p - t)^2) for a weight matrix (decayed) and a bias vector (no decay), 7 steps with a
learning rate multiplied by the factors below (a schedule), as graft's parameter groups do.
"""
import json
import torch

torch.set_default_dtype(torch.float32)
w0 = torch.linspace(-1.0, 1.0, 12).reshape(3, 4)
b0 = torch.tensor([0.5, -0.25, 2.0])
tw = torch.linspace(0.3, -0.7, 12).reshape(3, 4)
tb = torch.tensor([-1.0, 0.0, 1.0])
cw = torch.linspace(0.5, 2.0, 12).reshape(3, 4)
factors = [0.2, 0.6, 1.0, 1.0, 0.8, 0.5, 0.1]
LR = 0.05


def run(make):
    w = w0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    opt = make([{"params": [w], "weight_decay": 0.01}, {"params": [b], "weight_decay": 0.0}])
    for f in factors:
        for g in opt.param_groups:
            g["lr"] = LR * f
        opt.zero_grad()
        loss = (cw * (w - tw) ** 2).sum() + ((b - tb) ** 2).sum()
        loss.backward()
        opt.step()
    return {"w": w.detach().flatten().tolist(), "b": b.detach().tolist()}


out = {
    "w0": w0.flatten().tolist(), "b0": b0.tolist(), "tw": tw.flatten().tolist(), "tb": tb.tolist(),
    "cw": cw.flatten().tolist(), "factors": factors, "lr": LR, "weight_decay": 0.01,
    "sgd_momentum": run(lambda g: torch.optim.SGD(g, lr=LR, momentum=0.9)),
    "sgd_nesterov": run(lambda g: torch.optim.SGD(g, lr=LR, momentum=0.9, nesterov=True)),
    "adamw": run(lambda g: torch.optim.AdamW(g, lr=LR)),
    "torch": torch.__version__,
}
json.dump(out, open("crates/graft-nn/tests/fixtures/optim_reference.json", "w"), indent=1)
print("wrote crates/graft-nn/tests/fixtures/optim_reference.json")
