"""The demo's hardest teacher (digits 3-8, mix 0.4) chosen on validation: what each rule keeps,
three candidates against the hard-label reference, and calibration.

    python benchmarks/teacher_selection_demo.py [--write results/teacher_selection_demo.json]

Teachers are cached (``$SOFTHARD_CACHE``), so a second run only reads them. Prints JSON; with
--write it stores the results summary (docs/teachers-and-yardstick.md renders it).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from datetime import date
from pathlib import Path
from typing import Any

from softhard.config import MarginConfig, TeacherCandidate, load_config, shipped_configs
from softhard.studies.two_layer import prepare_task

KEYS = ("epochs_used", "val_acc", "val_loss", "test_acc", "n_val")


def measure() -> dict[str, Any]:
    cfg = load_config(shipped_configs()["demo"])
    task = cfg.task_list()[2]  # digits:3-8 mix=0.4
    values: dict[str, Any] = {}
    for rule in ("val_loss", "val_acc"):
        teacher = cfg.teacher.model_copy(
            update={"stop": cfg.teacher.stop.model_copy(update={"rule": rule})}
        )
        info = prepare_task(task, teacher, margin=MarginConfig(estimate=False)).teacher.info
        values |= {f"{rule}_{k}": info[k] for k in KEYS}
    candidates = [TeacherCandidate(), TeacherCandidate(width=64), TeacherCandidate(lr=0.25)]
    teacher = cfg.teacher.model_copy(
        update={"candidates": candidates, "try_all": True, "calibrate": True}
    )
    start = time.perf_counter()
    info = prepare_task(task, teacher, margin=MarginConfig(estimate=False)).teacher.info
    values["candidates_seconds"] = round(time.perf_counter() - start, 1)
    for i, rec in enumerate(info["candidates"]):
        values |= {f"cand{i}_{k}": rec[k] for k in ("width", "lr", "epochs_used", "val_acc")}
        values |= {f"cand{i}_{k}": rec[k] for k in ("val_loss", "test_acc")}
        values |= {f"cand{i}_{k}": v for k, v in rec["vs_reference"].items()}
    values |= {"chosen": info["chosen"], "weak_vs_reference": info["weak_vs_reference"]}
    values |= {f"reference_{k}": v for k, v in info["reference"].items()}
    values |= {f"calibration_{k}": v for k, v in info["calibration"].items()}
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    values = measure()
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    summary = {
        "command": "python benchmarks/teacher_selection_demo.py --write "
        "results/teacher_selection_demo.json",
        "git_revision": rev.stdout.strip(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "date": date.today().isoformat(),
        "design": "current",
        "values": {k: round(v, 4) if isinstance(v, float) else v for k, v in values.items()},
    }
    print(json.dumps(summary, indent=2))
    if args.write:
        args.write.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
