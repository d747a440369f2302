"""Deep students tuned per arm on validation data: each arm's rate and stopping epoch.

With ``tune`` (:class:`~softhard.studies.deep.config.DeepTuneConfig`) every deep student trains
once per peak learning rate of ``tune.lrs`` (each a full run of ``train.epochs`` with the
configured schedule) on the training split minus the teacher's validation part, recording the
validation accuracy and loss after every epoch. :func:`tuned_history` then chooses, for every
budget of e epochs, the rate and the epoch t <= e with the best validation accuracy (ties: lower
validation loss, then the earlier epoch, then the smaller rate) with the two-layer study's rule
(:func:`softhard.tuning.selection_keys` and :func:`softhard.tuning.choose`). Under a cosine
schedule the stopping epoch is the best-validation epoch *within* the run (early stopping on
validation; the run itself always follows the whole schedule). The reported test accuracy is
the chosen checkpoint's; test data choose nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from softhard.tuning import choose, selection_keys

History = Sequence[dict[str, float]]


def _column(history: History, name: str, length: int) -> np.ndarray:
    """``name`` at epochs 1..length of one run (NaN where missing or not finite)."""
    out = np.full(length, np.nan)
    values = np.asarray([h.get(name, np.nan) for h in history[:length]], dtype=np.float64)
    out[: len(values)] = values
    return out


def tuned_history(
    histories: Sequence[History], lrs: Sequence[float], *, early_stop: bool = True
) -> tuple[list[dict[str, float]], dict[str, float]]:
    """The tuned student from its runs at each rate of ``lrs`` (module docstring).

    Returns the tuned curve (one dict per budget e = 1..E: the rate chosen at the horizon E's
    own metrics, with ``test_acc`` the test accuracy of the checkpoint chosen within e epochs,
    and ``tuned_lr``, ``tuned_epoch``) and the final choices: ``lr``, ``tuned_epoch``,
    ``tuned_val_acc``, ``test_acc`` (at the chosen checkpoint) and ``last_test_acc`` (the
    chosen rate's test accuracy after all E epochs). A diverged epoch (NaN validation loss) is
    never chosen.
    """
    if len(histories) != len(lrs) or not histories:
        raise ValueError(
            f"tuned_history needs one history per rate, got {len(histories)} for {lrs}"
        )
    if any("val_acc" not in h[0] for h in histories if h):
        raise ValueError("tuned_history needs validation metrics: train with val=(x_val, y_val)")
    length = max(len(h) for h in histories)
    keys = np.stack(
        [
            selection_keys(_column(h, "val_acc", length), _column(h, "val_loss", length))
            for h in histories
        ]
    )
    tests = np.stack([_column(h, "test_acc", length) for h in histories])
    vals = np.stack([_column(h, "val_acc", length) for h in histories])
    rate, epoch = choose(keys, early_stop=early_stop)
    chosen = histories[int(rate[-1])]
    curve: list[dict[str, float]] = []
    for e in range(length):
        row: dict[str, float] = dict(chosen[e]) if e < len(chosen) else {"epoch": e + 1.0}
        r, t = int(rate[e]), int(epoch[e])
        row.update(test_acc=float(tests[r, t]), tuned_lr=float(lrs[r]), tuned_epoch=t + 1.0)
        curve.append(row)
    r, t = int(rate[-1]), int(epoch[-1])
    final = {
        "lr": float(lrs[r]),
        "tuned_epoch": t + 1.0,
        "tuned_val_acc": float(vals[r, t]),
        "test_acc": float(tests[r, t]),
        "last_test_acc": float(tests[r, -1]),
    }
    return curve, final


def tuned_columns(final: dict[str, float], lrs: Sequence[float], n_val: int) -> dict[str, Any]:
    """A tuned deep student's extra result columns: ``steps`` "tuned", the grid and choices."""
    return {
        "steps": "tuned",
        "lr": final["lr"],
        "lr_grid": ",".join(f"{v:g}" for v in lrs),
        "tuned_epoch": final["tuned_epoch"],
        "tuned_val_acc": final["tuned_val_acc"],
        "last_test_acc": final["last_test_acc"],
        "n_val": n_val,
    }


__all__ = ["tuned_columns", "tuned_history"]
