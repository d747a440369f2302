"""Diagnosis of the theorem study's projected GD (docs/theorem.md section 3): loss against width,
horizon and step size at the bound's radius, before choosing the shipped design.

For each digits level given, the kernel teacher (2^16 directions of its own, a diagnosis only),
then projected GD with symmetric initialisation at the shipped radius constant c = 0.7: soft
labels at rho = c beta, hard labels at rho = c ln(1/eps)/gamma for eps 0.3, 0.1 and 0.03. Printed
per (level, labels, radius, step, width): the epoch-average loss after 250, 1000, ... epochs, the
last and the best loss (seed mean over seeds 0 and 1).

    python benchmarks/theorem_gd_explore.py "digits:3-8;digits:3-8,mix=0.35" 16,32 2000 4,16,64,256
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from softhard.config import TrainConfig
from softhard.engine import BankEntry, train_bank
from softhard.student import Student
from softhard.studies.theorem.families import Family, prepare_family
from softhard.studies.theorem.reference import hard_scale
from softhard.studies.theorem.teacher import teacher_field


def main(levels_arg: str, lrs_arg: str, epochs_arg: str, widths_arg: str) -> None:
    torch.set_num_threads(1)
    lrs = [float(v) for v in lrs_arg.split(",")]
    epochs = int(epochs_arg)
    widths = [int(v) for v in widths_arg.split(",")]
    fam = Family(name="digits", kind="tasks", levels=levels_arg.split(";"))
    for lv in prepare_family(fam, num_directions=4096, seed=0):
        t = teacher_field(lv.x, lv.y, lv.estimate.q, gamma=lv.gamma, num_directions=2**16)
        beta = lv.betas[0]
        runs = [("soft", 0.7 * beta, beta * t.h)]
        runs += [("hard", 0.7 * hard_scale(lv.gamma, e), None) for e in (0.3, 0.1, 0.03)]
        for mode, rho, logits in runs:
            for lr in lrs:
                t0 = time.process_time()
                cfg = TrainConfig(optimizer="gd", lr=lr, epochs=epochs, rho=rho)
                sts = [Student(w, s, mode) for w in widths for s in (0, 1)]  # type: ignore[arg-type]
                ents = [BankEntry.of(st, lv.y, logits, init="symmetric") for st in sts]
                res = train_bank(lv.x, ents, cfg)
                for w in widths:
                    c = np.mean(
                        [r.curves["loss"] for st, r in zip(sts, res, strict=True) if st.width == w],
                        0,
                    )
                    marks = [T for T in (250, 1000, 4000, 16000) if epochs >= T]
                    avgs = " ".join(f"avg{T}={np.mean(c[:T]):.4f}" for T in marks)
                    print(
                        f"{lv.name:22s} g={lv.gamma:.4f} {mode} rho={rho:6.1f} lr={lr:4g} "
                        f"m={w:4d} {avgs} last={c[-1]:.4f} best={c.min():.4f}",
                        flush=True,
                    )
                print("cpu", round(time.process_time() - t0, 1), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5])
