#!/usr/bin/env python3
"""Print the side-by-side table for one run folder of extract.sh.

The folder holds, per model, side (graft / torch) and repeat i:
  MODEL.SIDE.i.json   the one-line JSON summary the extractor printed
  MODEL.SIDE.i.time   `/usr/bin/time -v` output (absent when time is not installed)
  MODEL.SIDE.i.mem    proc_mem.py peaks of the whole process tree
and per model MODEL.parity.json from compare_features.py.

Throughput is the best of the repeats (the machine is noisy; the best run is the one
least disturbed); all repeats are listed under the table. Peak memory is the largest
seen over the repeats.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

NAME = re.compile(r"^(?P<model>.+)\.(?P<side>graft|torch|bf16)\.(?P<i>\d+)\.json$")


def max_rss_mib(path: Path) -> float | None:
    if not path.exists():
        return None
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", path.read_text())
    return int(m.group(1)) / 1024 if m else None


def fmt(v: float | None, spec: str = ".0f", unit: str = "") -> str:
    return "n/a" if v is None else format(v, spec) + unit


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", type=Path)
    p.add_argument("--json", type=Path, help="also write the summary here")
    args = p.parse_args()

    runs: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    # Oldest first, so the table follows the order the models ran in.
    for f in sorted(args.run_dir.glob("*.json"), key=lambda q: q.stat().st_mtime):
        m = NAME.match(f.name)
        if not m:
            continue
        base = str(f)[: -len(".json")]
        try:
            summary = json.loads(f.read_text().strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError) as e:
            sys.exit(f"report: {f}: not a JSON summary ({e})")
        mem_file = Path(base + ".mem")
        mem = json.loads(mem_file.read_text()) if mem_file.exists() else {}
        runs[m["model"]][m["side"]].append({
            "i": int(m["i"]),
            "ips": summary["images_per_second"],
            "seconds": summary["seconds"],
            "n": summary["n"],
            "d": summary["d"],
            "max_rss_mib": max_rss_mib(Path(base + ".time")),
            "tree_rss_mib": mem.get("tree_peak_rss_mib"),
            "tree_pss_mib": mem.get("tree_peak_pss_mib"),
        })
    if not runs:
        sys.exit(f"report: no MODEL.SIDE.i.json files in {args.run_dir}")

    def peak(rs: list[dict], key: str) -> float | None:
        vals = [r[key] for r in rs if r[key] is not None]
        return max(vals) if vals else None

    rows = []
    for model, sides in runs.items():
        g, t, b = sides.get("graft", []), sides.get("torch", []), sides.get("bf16", [])
        bf16_file = args.run_dir / f"{model}.bf16-parity.json"
        bf16_parity = json.loads(bf16_file.read_text()) if bf16_file.exists() else None
        parity_file = args.run_dir / f"{model}.parity.json"
        parity = json.loads(parity_file.read_text()) if parity_file.exists() else None
        gb = max((r["ips"] for r in g), default=None)
        tb = max((r["ips"] for r in t), default=None)
        rows.append({
            "model": model,
            "n": (g or t)[0]["n"],
            "graft_ips": gb,
            "torch_ips": tb,
            "ratio": gb / tb if gb and tb else None,
            "graft_ips_all": [round(r["ips"], 2) for r in g],
            "torch_ips_all": [round(r["ips"], 2) for r in t],
            "graft_ips_median": statistics.median(r["ips"] for r in g) if g else None,
            "torch_ips_median": statistics.median(r["ips"] for r in t) if t else None,
            "graft_max_rss_mib": peak(g, "max_rss_mib"),
            "torch_max_rss_mib": peak(t, "max_rss_mib"),
            "torch_tree_rss_mib": peak(t, "tree_rss_mib"),
            "torch_tree_pss_mib": peak(t, "tree_pss_mib"),
            "graft_tree_pss_mib": peak(g, "tree_pss_mib"),
            "parity": parity,
            "bf16_ips": max((r["ips"] for r in b), default=None),
            "bf16_ips_all": [round(r["ips"], 2) for r in b],
            "bf16_speedup": max(r["ips"] for r in b) / gb if b and gb else None,
            "bf16_max_rss_mib": peak(b, "max_rss_mib"),
            "bf16_parity": bf16_parity,
        })

    head = ("model", "graft img/s", "PyTorch img/s", "ratio", "graft peak RSS",
            "PyTorch peak RSS (1 proc)", "PyTorch tree PSS (main+workers)", "cosine mean / min")
    lines = [head]
    for r in rows:
        par = r["parity"]
        lines.append((
            r["model"],
            fmt(r["graft_ips"], ".1f"),
            fmt(r["torch_ips"], ".1f"),
            fmt(r["ratio"], ".2f"),
            fmt(r["graft_max_rss_mib"], unit=" MiB"),
            fmt(r["torch_max_rss_mib"], unit=" MiB"),
            fmt(r["torch_tree_pss_mib"], unit=" MiB"),
            f"{par['cosine_mean']:.6f} / {par['cosine_min']:.6f}" if par else "n/a",
        ))
    widths = [max(len(str(l[c])) for l in lines) for c in range(len(head))]
    for k, l in enumerate(lines):
        print("| " + " | ".join(str(v).ljust(w) for v, w in zip(l, widths)) + " |")
        if k == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print()
    if any(r["bf16_ips"] for r in rows):
        print("| model | graft fp32 img/s | graft bf16 img/s | bf16 / fp32 | bf16 peak RSS | cosine distance to fp32, mean / max |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            par = r["bf16_parity"]
            dist = f"{1 - par['cosine_mean']:.2e} / {1 - par['cosine_min']:.2e}" if par else "n/a"
            print(f"| {r['model']} | {fmt(r['graft_ips'], '.1f')} | {fmt(r['bf16_ips'], '.1f')} | "
                  f"{fmt(r['bf16_speedup'], '.2f')} | {fmt(r['bf16_max_rss_mib'], unit=' MiB')} | {dist} |")
    print()
    for r in rows:
        print(f"{r['model']}: {r['n']} images; img/s per repeat: graft {r['graft_ips_all']}, "
              f"PyTorch {r['torch_ips_all']}, graft bf16 {r['bf16_ips_all']}; tree RSS sum PyTorch {fmt(r['torch_tree_rss_mib'], unit=' MiB')}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
