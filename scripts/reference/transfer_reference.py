"""Reference values of graft's deep transfer losses (crates/graft-nn/src/transfer), in plain
PyTorch following TLlib's code (tllib/modules/grl.py, domain_discriminator.py,
tllib/alignment/dann.py, cdan.py, mdd.py, dan.py, tllib/regularization/delta.py, bss.py) and the
papers where TLlib has no code (Deep CORAL eq. 1, L2-SP eq. 4, AdaBN with momentum=None).

For every loss the fixture holds the inputs, the value and the gradient of the value with respect
to each input, all float32 (the losses run in float32 on both sides).

    /tmp/pyref/bin/python scripts/reference/transfer_reference.py

writes crates/graft-nn/tests/fixtures/transfer_reference.safetensors. Needs torch, safetensors.
"""

import math
import pathlib

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = (
    pathlib.Path(__file__).resolve().parents[2]
    / "crates/graft-nn/tests/fixtures/transfer_reference.safetensors"
)
torch.manual_seed(20240611)
T = {}


def put(prefix, **kw):
    for k, v in kw.items():
        if not torch.is_tensor(v):
            v = torch.tensor([float(v)], dtype=torch.float64)
        T[f"{prefix}.{k}"] = v.detach().clone().contiguous()


def leaf(*shape, scale=1.0):
    return (torch.randn(*shape) * scale).requires_grad_(True)


# --- TLlib building blocks -----------------------------------------------------------------
class GradientReverseFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, coeff=1.0):
        ctx.coeff = coeff
        return input * 1.0

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.neg() * ctx.coeff, None


def discriminator(in_feature, hidden):
    """TLlib DomainDiscriminator(batch_norm=True, sigmoid=True) without the final Sigmoid (the
    losses below apply it, as TLlib's does inside the Sequential)."""
    return nn.Sequential(
        nn.Linear(in_feature, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Sequential(nn.Linear(hidden, 1)),
    )


def put_module(prefix, m):
    for k, v in m.state_dict().items():
        if k.endswith("num_batches_tracked"):
            continue
        T[f"{prefix}.{k}"] = v.detach().clone().contiguous()


def binary_accuracy(output, target):
    """TLlib's binary_accuracy, as a fraction."""
    pred = (output >= 0.5).float()
    return pred.eq(target).float().mean().item()


# --- DANN ----------------------------------------------------------------------------------
def dann_case():
    ns, nt, d, hidden, coeff = 6, 5, 6, 8, 0.7
    disc = discriminator(d, hidden)
    put_module("dann.disc", disc)
    f_s, f_t = leaf(ns, d), leaf(nt, d)
    w_s, w_t = torch.rand(ns) + 0.5, torch.rand(nt) + 0.5
    put("dann", f_s=f_s, f_t=f_t, w_s=w_s, w_t=w_t, coeff=coeff)
    for tag, weighted in [("plain", False), ("weighted", True)]:
        f_s.grad = f_t.grad = None
        disc.train()
        f = GradientReverseFunction.apply(torch.cat((f_s, f_t), 0), coeff)
        d = torch.sigmoid(disc(f))
        d_s, d_t = d[:ns], d[ns:]
        ls, lt = torch.ones(ns, 1), torch.zeros(nt, 1)
        ws = w_s.view_as(d_s) if weighted else torch.ones_like(ls)
        wt = w_t.view_as(d_t) if weighted else torch.ones_like(lt)
        loss = 0.5 * (F.binary_cross_entropy(d_s, ls, ws) + F.binary_cross_entropy(d_t, lt, wt))
        acc = 0.5 * (binary_accuracy(d_s, ls) + binary_accuracy(d_t, lt))
        loss.backward()
        put(f"dann.{tag}", loss=loss, grad_f_s=f_s.grad, grad_f_t=f_t.grad, accuracy=acc)


# --- CDAN ----------------------------------------------------------------------------------
def entropy(p):
    return (-p * torch.log(p + 1e-5)).sum(dim=1)


def cdan_case():
    ns, nt, fd, c, hidden, coeff, rdim = 6, 5, 4, 3, 8, 0.5, 16
    f_s, f_t = leaf(ns, fd), leaf(nt, fd)
    g_s, g_t = leaf(ns, c, scale=2.0), leaf(nt, c, scale=2.0)
    rf, rg = torch.randn(fd, rdim), torch.randn(c, rdim)
    put("cdan", f_s=f_s, f_t=f_t, g_s=g_s, g_t=g_t, coeff=coeff, rf=rf, rg=rg)
    discs = {"multi": discriminator(fd * c, hidden), "random": discriminator(rdim, hidden)}
    for name, m in discs.items():
        put_module(f"cdan.disc_{name}", m)

    def multilinear(f, g):
        return torch.bmm(g.unsqueeze(2), f.unsqueeze(1)).view(f.size(0), -1)

    def randomized(f, g):
        return torch.mul(torch.mm(f, rf), torch.mm(g, rg)) / math.sqrt(float(rdim))

    for mname, fmap in [("multi", multilinear), ("random", randomized)]:
        for ent in [False, True]:
            for t in (f_s, f_t, g_s, g_t):
                t.grad = None
            disc = discs[mname]
            disc.train()
            f = torch.cat((f_s, f_t), 0)
            g = F.softmax(torch.cat((g_s, g_t), 0), dim=1).detach()
            h = GradientReverseFunction.apply(fmap(f, g), coeff)
            d = torch.sigmoid(disc(h))
            label = torch.cat((torch.ones(ns, 1), torch.zeros(nt, 1)))
            weight = 1.0 + torch.exp(-entropy(g))
            weight = weight / torch.sum(weight) * f.size(0)
            if ent:
                loss = F.binary_cross_entropy(d, label, weight.view_as(d))
            else:
                loss = F.binary_cross_entropy(d, label)
            loss.backward()
            tag = f"cdan.{mname}_{'e' if ent else 'plain'}"
            put(tag, loss=loss, grad_f_s=f_s.grad, grad_f_t=f_t.grad)
            if mname == "multi" and not ent:
                put("cdan", map=multilinear(f, g), entropy_weights=weight)


# --- MDD -----------------------------------------------------------------------------------
def shift_log(x, offset=1e-6):
    return torch.log(torch.clamp(x + offset, max=1.0))


def mdd_case():
    n, c, margin = 6, 4, 4.0
    y_s, y_s_adv, y_t, y_t_adv = (leaf(n, c, scale=2.0) for _ in range(4))
    # Adversarial predictions that agree (row 0: 1 - p underflows, the 1e-6 shift matters) and
    # disagree (row 1: 1 - p + 1e-6 > 1, shift_log's clamp at 0 applies) extremely.
    with torch.no_grad():
        y_t_adv[0] = 0.0
        y_t_adv[0, y_t[0].argmax()] = 30.0
        y_t_adv[1] = 0.0
        y_t_adv[1, y_t[1].argmax()] = -30.0
    w_s, w_t = torch.rand(n) + 0.5, torch.rand(n) + 0.5
    put("mdd", y_s=y_s, y_s_adv=y_s_adv, y_t=y_t, y_t_adv=y_t_adv, w_s=w_s, w_t=w_t, margin=margin)
    for tag, weighted in [("plain", False), ("weighted", True)]:
        for t in (y_s, y_s_adv, y_t, y_t_adv):
            t.grad = None
        _, pred_s = y_s.max(dim=1)
        source = -margin * F.cross_entropy(y_s_adv, pred_s, reduction="none")
        _, pred_t = y_t.max(dim=1)
        target = -F.nll_loss(shift_log(1.0 - F.softmax(y_t_adv, dim=1)), pred_t, reduction="none")
        if weighted:
            source, target = source * w_s, target * w_t
        loss = (source + target).mean()
        loss.backward()
        put(
            f"mdd.{tag}",
            loss=loss,
            grad_y_s_adv=y_s_adv.grad,
            grad_y_t_adv=y_t_adv.grad,
        )


# --- Deep CORAL (Sun & Saenko 2016, eq. 1-2) ------------------------------------------------
def coral_case():
    f_s, f_t = leaf(7, 5), leaf(6, 5, scale=1.5)

    def cov(x):
        n = x.size(0)
        ones = torch.ones(1, n)
        return (x.t() @ x - (ones @ x).t() @ (ones @ x) / n) / (n - 1)

    d = f_s.size(1)
    loss = ((cov(f_s) - cov(f_t)) ** 2).sum() / (4 * d * d)
    loss.backward()
    put("coral", f_s=f_s, f_t=f_t, loss=loss, grad_f_s=f_s.grad, grad_f_t=f_t.grad)


# --- MK-MMD (TLlib dan.py + kernels.py) ------------------------------------------------------
def gaussian(x, alpha):
    d2 = ((x.unsqueeze(0) - x.unsqueeze(1)) ** 2).sum(2)
    sigma2 = alpha * torch.mean(d2.detach())
    return torch.exp(-d2 / (2 * sigma2))


def index_matrix(n, linear):
    m = torch.zeros(2 * n, 2 * n)
    if linear:
        for i in range(n):
            s1, s2 = i, (i + 1) % n
            t1, t2 = s1 + n, s2 + n
            m[s1, s2] = 1.0 / n
            m[t1, t2] = 1.0 / n
            m[s1, t2] = -1.0 / n
            m[s2, t1] = -1.0 / n
    else:
        for i in range(n):
            for j in range(n):
                if i != j:
                    m[i][j] = 1.0 / (n * (n - 1))
                    m[i + n][j + n] = 1.0 / (n * (n - 1))
        for i in range(n):
            for j in range(n):
                m[i][j + n] = -1.0 / (n * n)
                m[i + n][j] = -1.0 / (n * n)
    return m


def mmd_case():
    n, d = 6, 5
    alphas = [2.0**k for k in range(-3, 2)]
    z_s, z_t = leaf(n, d), leaf(n, d) + 0.3
    z_t = z_t.detach().requires_grad_(True)
    put("mmd", z_s=z_s, z_t=z_t)
    for tag, linear in [("quadratic", False), ("linear", True)]:
        z_s.grad = z_t.grad = None
        feats = torch.cat([z_s, z_t], 0)
        k = sum(gaussian(feats, a) for a in alphas)
        # TLlib adds 2 / (n - 1) to the value; graft leaves that constant out.
        loss = (k * index_matrix(n, linear)).sum()
        loss.backward()
        put(f"mmd.{tag}", loss=loss, grad_z_s=z_s.grad, grad_z_t=z_t.grad)
    # Unequal batches (quadratic only): the unbiased estimate of Long et al. 2015, eq. 3.
    u_s, u_t = leaf(7, d), leaf(4, d)
    feats = torch.cat([u_s, u_t], 0)
    k = sum(gaussian(feats, a) for a in alphas)
    ns, nt = 7, 4
    kss, ktt, kst = k[:ns, :ns], k[ns:, ns:], k[:ns, ns:]
    loss = (
        (kss.sum() - kss.diagonal().sum()) / (ns * (ns - 1))
        + (ktt.sum() - ktt.diagonal().sum()) / (nt * (nt - 1))
        - 2 * kst.sum() / (ns * nt)
    )
    loss.backward()
    put("mmd.unequal", u_s=u_s, u_t=u_t, loss=loss, grad_u_s=u_s.grad, grad_u_t=u_t.grad)


# --- BSS (TLlib bss.py) ---------------------------------------------------------------------
def bss_case():
    f = leaf(6, 5)
    put("bss", f=f)
    for k in (1, 2):
        f.grad = None
        _, s, _ = torch.svd(f.t())
        num = s.size(0)
        loss = sum(torch.pow(s[num - 1 - i], 2) for i in range(k))
        loss.backward()
        put(f"bss.k{k}", loss=loss, grad_f=f.grad)


# --- L2-SP (Li et al. 2018, eq. 4) -----------------------------------------------------------
def l2sp_case():
    alpha, beta = 0.1, 0.01
    mlp_w0 = {
        "hidden.0.weight": torch.randn(6, 5),
        "hidden.0.bias": torch.randn(6),
        "fc.weight": torch.randn(3, 6),
        "fc.bias": torch.randn(3),
    }
    cur = {k: (v + 0.1 * torch.randn_like(v)).requires_grad_(True) for k, v in mlp_w0.items()}
    loss = 0.0
    for k, w in cur.items():
        if k.startswith("fc."):
            loss = loss + beta * 0.5 * torch.norm(w) ** 2
        else:
            loss = loss + alpha * 0.5 * torch.norm(w - mlp_w0[k]) ** 2
    loss.backward()
    put("l2sp", alpha=alpha, beta=beta, loss=loss)
    for k in mlp_w0:
        T[f"l2sp.w0.{k}"] = mlp_w0[k].clone()
        T[f"l2sp.w.{k}"] = cur[k].detach().clone()
        T[f"l2sp.grad.{k}"] = cur[k].grad.clone()


# --- DELTA (TLlib delta.py and its calculate_channel_attention) --------------------------------
def delta_case():
    sizes = [5, 6, 4]
    classes = 3
    layers = [nn.Linear(sizes[i], sizes[i + 1]) for i in range(2)]
    fc = nn.Linear(sizes[-1], classes)
    for i, l in enumerate(layers):
        put_module(f"delta.mlp.hidden.{i}", l)
    put_module("delta.mlp.fc", fc)
    batches = [(torch.randn(4, 5), torch.randint(0, classes, (4,))) for _ in range(2)]
    for i, (x, y) in enumerate(batches):
        T[f"delta.x{i}"] = x
        T[f"delta.y{i}"] = y

    def run(x, zero=None):
        """Graft's Mlp in inference mode; `zero = (stage, channel)` zeroes one unit of a stage's
        output, the ablation of DELTA's attention."""
        h = x
        for s, l in enumerate(layers):
            h = F.relu(l(h))
            if zero is not None and zero[0] == s:
                h = h.clone()
                h[:, zero[1]] = 0.0
        return fc(h)

    with torch.no_grad():
        weights = [[0.0] * sizes[s + 1] for s in range(2)]
        for i, (x, y) in enumerate(batches):
            loss0 = F.cross_entropy(run(x), y)
            for s in range(2):
                for j in range(sizes[s + 1]):
                    diff = (F.cross_entropy(run(x, (s, j)), y) - loss0).item()
                    weights[s][j] = 1.0 * (i * weights[s][j] + diff) / (i + 1)
        for s, w in enumerate(weights):
            w = torch.tensor(w, dtype=torch.float64)
            w = (w - w.mean()) / w.std(unbiased=False)
            T[f"delta.attention{s}"] = F.softmax(w.float() / 5, dim=0)

    # The behavioural regulariser on one 4-d and one 2-d feature map.
    att = [torch.softmax(torch.randn(4), 0), torch.softmax(torch.randn(6), 0)]
    fm_t = [leaf(3, 4, 2, 2), leaf(3, 6)]
    fm_s = [torch.randn(3, 4, 2, 2), torch.randn(3, 6)]
    loss = 0.0
    for a, t, s in zip(att, fm_t, fm_s):
        t4 = t if t.dim() == 4 else t.reshape(*t.shape, 1, 1)
        s4 = s if s.dim() == 4 else s.reshape(*s.shape, 1, 1)
        b, c, h, w = s4.shape
        dist = torch.norm(t4.reshape(b, c, h * w) - s4.reshape(b, c, h * w).detach(), 2, 2)
        dist = c * torch.mul(a, dist**2) / (h * w)
        loss = loss + 0.5 * torch.sum(dist)
    loss.backward()
    for i in range(2):
        T[f"delta.fm.att{i}"] = att[i]
        T[f"delta.fm.t{i}"] = fm_t[i].detach().clone()
        T[f"delta.fm.s{i}"] = fm_s[i]
        T[f"delta.fm.grad{i}"] = fm_t[i].grad.clone()
    put("delta.fm", loss=loss)


# --- AdaBN (Li et al. 2016; PyTorch momentum=None after reset_running_stats) ------------------
def adabn_case():
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=False),
        nn.BatchNorm2d(4, momentum=None),
        nn.ReLU(),
        nn.Conv2d(4, 5, 3, padding=1, bias=False),
        nn.BatchNorm2d(5, momentum=None),
        nn.ReLU(),
    )
    with torch.no_grad():
        for bn in (net[1], net[4]):
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
    names = {"0": "block1.conv", "1": "block1.bn", "3": "block2.conv", "4": "block2.bn"}
    for k, v in net.state_dict().items():
        if k.endswith("num_batches_tracked") or "running" in k:
            continue
        idx, rest = k.split(".", 1)
        T[f"adabn.{names[idx]}.{rest}"] = v.clone()
    batches = [torch.randn(4, 3, 5, 5) * 2.0 + 1.0 for _ in range(3)]
    for i, x in enumerate(batches):
        T[f"adabn.x{i}"] = x
    net.train()
    for bn in (net[1], net[4]):
        bn.reset_running_stats()
    with torch.no_grad():
        for x in batches:
            net(x)
    for idx, name in [("1", "block1.bn"), ("4", "block2.bn")]:
        bn = net[int(idx)]
        T[f"adabn.{name}.running_mean"] = bn.running_mean.clone()
        T[f"adabn.{name}.running_var"] = bn.running_var.clone()


for case in (
    dann_case,
    cdan_case,
    mdd_case,
    coral_case,
    mmd_case,
    bss_case,
    l2sp_case,
    delta_case,
    adabn_case,
):
    case()
OUT.parent.mkdir(parents=True, exist_ok=True)
save_file(T, str(OUT))
print(f"wrote {len(T)} tensors to {OUT}")
