#!/usr/bin/env python3
"""Run a command and sample the memory of its whole process tree (Linux /proc).

`/usr/bin/time -v` reports the peak RSS of the largest single process, which is exact for
graft (one process, many threads) but misses PyTorch's DataLoader workers. This wrapper
sums over the command and all of its descendants every --interval seconds and records the
peaks of:

  rss_mib  sum of resident set sizes (counts pages shared between processes, e.g. the
           forked workers' copy of the torch libraries, once per process: an upper bound)
  pss_mib  sum of proportional set sizes (shared pages split between their users: the
           memory the tree really occupies; from /proc/PID/smaps_rollup)

The command's stdout/stderr pass through untouched; the peaks go to --out as JSON and the
exit status is the command's. Sampling costs ~2 ms of one core per tick.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name (field 2) may contain spaces; fields after its ')' are fixed.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree(root: int) -> list[int]:
    kids = children_map()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def rss_pss(pid: int) -> tuple[int, int]:
    """Bytes resident and proportional for one process; (0, 0) once it is gone."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            rss = int(f.read().split()[1]) * PAGE
        pss = 0
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
                    break
        return rss, pss
    except (OSError, ValueError, IndexError):
        return 0, 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="JSON file for the peaks")
    p.add_argument("--interval", type=float, default=0.2, help="seconds between samples")
    p.add_argument("cmd", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...")
    args = p.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        sys.exit("proc_mem: no command given (usage: proc_mem.py --out F -- CMD ARGS...)")

    child = subprocess.Popen(cmd)
    peak_rss = peak_pss = 0
    peak_procs = 0
    samples = 0
    while child.poll() is None:
        pids = tree(child.pid)
        rss = pss = 0
        for pid in pids:
            r, s = rss_pss(pid)
            rss += r
            pss += s
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        peak_procs = max(peak_procs, len(pids))
        samples += 1
        time.sleep(args.interval)
    args.out.write_text(json.dumps({
        "tree_peak_rss_mib": peak_rss / 2**20,
        "tree_peak_pss_mib": peak_pss / 2**20,
        "max_processes": peak_procs,
        "samples": samples,
        "interval_s": args.interval,
    }) + "\n")
    sys.exit(child.returncode)


if __name__ == "__main__":
    main()
