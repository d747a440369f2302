"""Memory guard: estimate what a two-layer config needs before any work starts; refuse if it
cannot fit.

The estimate counts the large buffers of a run, in bytes (``docs/hardening.md`` gives the
model): every student's first-layer weights with their initial copy, gradient buffer and
float64 initial draw; the engine's ``(neurons x examples)`` tiles; per-epoch curves; the data;
the teacher and the margin estimate of each task. Ranges of students trained side by side
(bank engine threads) and sweep worker processes add up. The limit is the memory the machine
has available (``MemAvailable`` of ``/proc/meminfo``; on CUDA the device's free memory), or
``SOFTHARD_MEMORY_LIMIT`` (``8GiB``, ``500MB``, a byte count, or ``off`` to skip the check).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from softhard.config import DataConfig, ExperimentConfig
from softhard.data import load_dataset
from softhard.engine._layout import plan_ranges
from softhard.engine._loop import _BUFFER_ELEMENTS
from softhard.engine.bank import _DEFAULT_CHUNKS
from softhard.errors import ResourceError

LIMIT_ENV = "SOFTHARD_MEMORY_LIMIT"
WORKER_PROCESS_BYTES = 300 << 20  # a spawned sweep worker: Python, torch and numpy loaded
_CURVE_BYTES = 24 * 8  # per student and epoch: 7 metrics, held as buffer, arrays and table
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS.update({"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40})


@dataclass
class MemoryEstimate:
    """Bytes by part (``"student weights"``, ``"tiles"``...) with what each part is made of."""

    parts: dict[str, int] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def add(self, part: str, nbytes: int, note: str = "") -> None:
        self.parts[part] = self.parts.get(part, 0) + int(nbytes)
        if note and part not in self.notes:
            self.notes[part] = note

    def largest(self) -> tuple[str, int]:
        return max(self.parts.items(), key=lambda kv: kv[1])


def human(nbytes: float) -> str:
    """``1.23 GB`` style (decimal units)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.3g} {unit}"
    return f"{int(nbytes)} B"


def parse_size(text: str) -> int | None:
    """``8GiB`` / ``500MB`` / ``1e9`` -> bytes; ``off`` -> None (no limit)."""
    value = text.strip().lower().replace(" ", "")
    if value in ("off", "none", "0", "no"):
        return None
    match = re.fullmatch(r"([0-9.e+]+)([a-z]*)", value)
    if not match or match.group(2) not in _UNITS:
        raise ResourceError(
            f"{LIMIT_ENV}={text!r} is not a size; use a byte count or a number with a unit "
            "(500MB, 8GiB), or 'off' to skip the memory check."
        )
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def available_memory(device: str = "cpu") -> tuple[int | None, str]:
    """Bytes the run may use and where that figure comes from (None: unknown, no check)."""
    env = os.environ.get(LIMIT_ENV)
    if env:
        return parse_size(env), f"{LIMIT_ENV}={env}"
    if str(device).startswith("cuda") and torch.cuda.is_available():
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free), f"free memory of {device}"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "MemAvailable in /proc/meminfo"
    except OSError:
        pass
    try:
        pages, size = os.sysconf("SC_AVPHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        return int(pages * size), "free physical pages (sysconf)"
    except (ValueError, OSError, AttributeError):
        return None, "unknown"


@functools.lru_cache(maxsize=64)
def _shape(task_json: str) -> tuple[int, int, int]:
    data = load_dataset(DataConfig.model_validate_json(task_json))
    return data.n_train, data.n_test, data.dim


def task_shape(task: DataConfig) -> tuple[int, int, int]:
    """``(n_train, n_test, dim)`` of a task (synthetic: from its settings; others: loaded)."""
    if task.source == "synthetic":
        n_test = round(task.n_samples * task.test_fraction)
        n_train = task.n_samples - n_test
        return (min(n_train, task.max_train or n_train), n_test, task.dim)
    return _shape(task.model_dump_json())


def estimate_students(
    est: MemoryEstimate,
    widths: Sequence[int],
    cfg: ExperimentConfig,
    shape: tuple[int, int, int],
    *,
    threads: int = 1,
) -> None:
    """Add the memory of training students of ``widths`` (one bank, or one at a time)."""
    n, n_test, d = shape
    size = 4 if cfg.dtype == "float32" else 8
    widest = max(widths)
    # 'auto' horizons are resolved per task later; count the largest T they may reach
    epochs = cfg.train.epochs if isinstance(cfg.train.epochs, int) else cfg.train.auto.cap
    if cfg.engine == "loop" or cfg.train.optimizer == "adam":
        # one model at a time: weights, initial copy, gradient, Adam moments; autograd activations
        est.add(
            "student weights",
            widest * d * size * 5,
            f"width {widest} x {d} inputs, 5 copies (loop engine)",
        )
        est.add("activations", (n + n_test) * widest * size * 3, f"{n + n_test} examples")
        est.add("curves", len(widths) * epochs * _CURVE_BYTES)
        return
    device = "cuda" if cfg.device == "cuda" else "cpu"
    chunk_neurons, chunk_examples = _DEFAULT_CHUNKS[device]
    fake = [(w, 0.5, 1.0) for w in widths]  # (width, kd_weight, temperature)
    multiple = threads if device == "cpu" else 1
    ranges = plan_ranges(fake, chunk_neurons, multiple)
    neurons = sorted((sum(widths[i] for i in r), len(r)) for r in ranges)[::-1]
    side_by_side = neurons[: max(1, threads if device == "cpu" else 1)]
    big = sum(c for c, _ in side_by_side)
    # float64 initial draws (and their concatenation) + weights' initial copy and gradient
    est.add(
        "student weights",
        big * d * (16 + 2 * size),
        f"{big} neurons in training at once (widest {widest}) x {d} inputs, float64 draws "
        f"+ {cfg.dtype} initial copy and gradient",
    )
    total_n = n + n_test
    tiles = 0
    for c, k in side_by_side:
        block = max(1, min(chunk_examples, chunk_neurons * chunk_examples // c, total_n))
        tiles += c * block * size + max(_BUFFER_ELEMENTS, k * total_n) * size
    est.add("engine tiles", tiles, f"neurons x examples tiles of up to {block} examples")
    est.add("curves", len(widths) * epochs * _CURVE_BYTES, f"{epochs} epochs")


def estimate_task(est: MemoryEstimate, cfg: ExperimentConfig, shape: tuple[int, int, int]) -> None:
    """Add the data, the teacher and the margin estimate of one task."""
    n, n_test, d = shape
    est.add("data", (n + n_test) * d * 8 * 3, "float64 inputs, raw and transformed")
    t = cfg.teacher
    if t.kind == "network":
        width = max([t.width] + [c.width for c in t.candidates if c.width is not None])
        teacher = width * d * 8 * 4 + (n + n_test) * width * 8 * 3
        est.add("teacher", teacher, f"width {width} network teacher")
    if cfg.margin.estimate or t.kind == "kernel":
        k = cfg.margin.num_directions
        est.add("margin", n * k * 8 * 3, f"{n} x {k} directions")


def estimate_experiment(cfg: ExperimentConfig, *, threads: int | None = None) -> MemoryEstimate:
    """Peak memory of :func:`softhard.studies.two_layer.run_experiment` (tasks run one after another)."""
    threads = threads or torch.get_num_threads()
    widths = [w for w in cfg.widths for _ in cfg.seeds for _ in cfg.label_modes]
    best = MemoryEstimate()
    for task in cfg.tasks:
        est = MemoryEstimate()
        shape = task_shape(task)
        estimate_task(est, cfg, shape)
        estimate_students(est, widths, cfg, shape, threads=threads)
        if est.total > best.total:
            best = est
    return best


def estimate_groups(
    groups: Sequence[tuple[ExperimentConfig, Sequence[int]]], *, processes: int, threads: int
) -> MemoryEstimate:
    """Peak memory of sweep groups (``(config, widths of its students)``), ``processes`` at once.

    The ``processes`` largest groups are counted side by side, plus each spawned worker.
    """
    estimates = []
    for cfg, widths in groups:
        est = MemoryEstimate()
        shape = task_shape(cfg.tasks[0])
        estimate_task(est, cfg, shape)
        estimate_students(est, list(widths), cfg, shape, threads=threads)
        estimates.append(est)
    estimates.sort(key=lambda e: e.total, reverse=True)
    out = MemoryEstimate()
    for est in estimates[: max(1, processes)]:
        for part, nbytes in est.parts.items():
            out.add(part, nbytes, est.notes.get(part, ""))
    if processes > 1:
        out.add("worker processes", processes * WORKER_PROCESS_BYTES, f"{processes} processes")
    return out


def check_memory(est: MemoryEstimate, *, device: str, what: str, fix: str) -> None:
    """Raise :class:`ResourceError` (one paragraph) if ``est`` exceeds the available memory."""
    limit, source = available_memory(device)
    if limit is None or est.total <= limit:
        return
    part, nbytes = est.largest()
    note = est.notes.get(part, "")
    raise ResourceError(
        f"{what} needs about {human(est.total)} of memory, more than the {human(limit)} "
        f"available ({source}); nothing was started. The largest part is {part}: "
        f"{human(nbytes)}{f' ({note})' if note else ''}. To fit, {fix}; or set "
        f"{LIMIT_ENV} (a size, or 'off') if the figure of available memory is wrong."
    )


_FIX = (
    "use smaller widths, fewer seeds or label modes (all students of a task train at once), "
    "dtype float32, or fewer examples (max_train)"
)


def check_experiment(cfg: ExperimentConfig) -> MemoryEstimate:
    """The memory guard of ``softhard run``: estimate, compare, refuse with one paragraph."""
    est = estimate_experiment(cfg)
    check_memory(est, device=str(cfg.device), what=f"experiment {cfg.name!r}", fix=_FIX)
    return est


def check_groups(
    groups: Sequence[tuple[ExperimentConfig, Sequence[int]]],
    *,
    processes: int,
    threads: int,
    what: str,
) -> MemoryEstimate:
    """The memory guard of sweeps and min-width searches (groups trained by worker processes)."""
    est = estimate_groups(groups, processes=processes, threads=threads)
    device = str(groups[0][0].device) if groups else "cpu"
    fix = _FIX + ", fewer --workers, or a smaller --group-size"
    check_memory(est, device=device, what=what, fix=fix)
    return est
