"""Write the teacher of a two-layer config to a teacher-logits file (bring your own teacher).

:func:`export_teacher_logits` prepares the config's one task with its teacher (network, kernel
or logits), on the whole training split, and writes the teacher's logits on the training and
test splits with the data's fingerprint (:func:`softhard.teachers.logits.write_teacher_logits`);
``teacher: {kind: logits, path: FILE}`` then reads them back. ``softhard teacher-logits``
is its command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from softhard.config import ExperimentConfig, MarginConfig
from softhard.errors import ConfigError
from softhard.studies.two_layer import prepare_task
from softhard.teachers.logits import write_teacher_logits


def export_teacher_logits(
    cfg: ExperimentConfig, out: str | Path, *, cache: Path | None = None
) -> tuple[Path, dict[str, Any]]:
    """Write ``cfg``'s teacher logits for its one task to ``out``; the file and the teacher's
    description. A config with several tasks (or data seeds) is refused: a file is for one
    dataset."""
    tasks = cfg.task_list()
    if len(tasks) != 1:
        names = ", ".join(f"{t.display} (data seed {t.seed})" for t in tasks)
        raise ConfigError(
            f"a teacher-logits file is for one dataset, but the config has {len(tasks)} tasks: "
            f"{names}; pick one with --set 'tasks=[...]' (and data_seeds=null)"
        )
    task = tasks[0].model_copy(update={"student_max_train": None})  # the whole training split
    margin = MarginConfig(
        estimate=False, num_directions=cfg.margin.num_directions, seed=cfg.margin.seed
    )
    prepared = prepare_task(task, cfg.teacher, margin=margin, cache=cache)
    teacher = prepared.teacher
    path = write_teacher_logits(out, prepared.dataset, teacher.train_logits, teacher.test_logits)
    return path, teacher.info
