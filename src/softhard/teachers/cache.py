"""The one teacher-cache convention, and deep teachers' outputs cached on disk, checked before use.

Every teacher, of every study, is cached in one folder, :func:`teachers_dir`: ``<root>/teachers``
with the root ``$SOFTHARD_CACHE`` or ``~/.cache/softhard`` (:func:`cache_dir`) unless a study's
config names another. The wide two-layer network teacher (:mod:`softhard.teachers.two_layer`)
stores ``<key>.pt`` there; a deep teacher stores its weights and its outputs there as below.

Deep teacher outputs (logits on the training and test inputs):

An entry is keyed by ``sha256(teacher content hash, dataset fingerprint, noise seed)``:

* the *content hash* (:func:`teacher_hash`) covers the teacher's ``state_dict`` bytes (names,
  dtypes, shapes, values) and its config (architecture, width, input preparation...), so a
  retrained or edited teacher never reads another teacher's outputs;
* the *dataset fingerprint* is :meth:`softhard.data.Dataset.fingerprint` (a hash of the arrays,
  after noise), and the *noise seed* is the task's ``seed``.

Before an entry is used, its stored metadata must equal the expected key parts and shapes, and a
fresh teacher forward pass on a fixed sample of training and test inputs must agree with the
cached logits (``max |diff| <= rtol * max(1, max |logit|)``). An entry that is unreadable,
mismatched or stale is rebuilt from a full forward pass and rewritten (atomically). The
trained teacher weights themselves are cached beside, keyed by the training recipe.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from softhard.models.table import predict_logits

Status = Literal["hit", "miss", "rebuilt"]
CACHE_ENV = "SOFTHARD_CACHE"
_FORMAT = 1


@dataclass(frozen=True)
class CachedLogits:
    """Deep-teacher logits (float32, CPU, k classes) as the cache read or wrote them.

    Distinct from :class:`softhard.teachers.two_layer.TeacherOutput` (one logit per input of
    the two-layer teacher, with a free-form info dict): this one carries the cache key and
    whether the entry was a hit, a miss or rebuilt.

    Attributes:
        train_logits: ``(n_train, num_classes)``.
        test_logits: ``(n_test, num_classes)``.
        key: the cache key (64 hex digits).
        status: ``hit`` (read and verified), ``miss`` (no entry: computed and written) or
            ``rebuilt`` (an entry was unreadable, mismatched or stale: recomputed, rewritten).
        reason: why an entry was rebuilt (empty otherwise).
    """

    train_logits: Tensor
    test_logits: Tensor
    key: str
    status: Status
    reason: str = ""


def cache_dir() -> Path:
    """The cache root: ``$SOFTHARD_CACHE`` or ``~/.cache/softhard`` (teachers, margins)."""
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "softhard"))


def teachers_dir(root: str | Path | None = None) -> Path:
    """The folder of every cached teacher: ``<root>/teachers`` (root default :func:`cache_dir`)."""
    return Path(root if root is not None else cache_dir()) / "teachers"


def teacher_hash(model: nn.Module, config: dict[str, Any]) -> str:
    """sha256 (hex) of ``config`` (canonical JSON) and every ``state_dict`` entry's bytes."""
    h = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def cache_key(content_hash: str, fingerprint: str, noise_seed: int) -> str:
    """The entry key: sha256 of the three parts."""
    return hashlib.sha256(f"{content_hash}|{fingerprint}|{noise_seed}".encode()).hexdigest()


class TeacherCache:
    """A folder of teacher-output entries (``outputs-<key>.pt``) and weights (``weights-<key>.pt``)."""

    def __init__(self, folder: str | Path, *, sample: int = 64, rtol: float = 1e-2) -> None:
        self.folder = Path(folder)
        self.sample = sample
        self.rtol = rtol

    def outputs(
        self,
        model: nn.Module,
        config: dict[str, Any],
        inputs: tuple[Tensor, Tensor],
        *,
        fingerprint: str,
        noise_seed: int,
        batch_size: int = 1024,
    ) -> CachedLogits:
        """The teacher's logits on ``inputs = (x_train, x_test)`` (on the model's device).

        Read from the cache when an entry exists and passes the checks; else computed by a
        forward pass and written.
        """
        content = teacher_hash(model, config)
        key = cache_key(content, fingerprint, noise_seed)
        path = self.folder / f"outputs-{key}.pt"
        expected = {"content_hash": content, "fingerprint": fingerprint, "noise_seed": noise_seed}
        reason = ""
        if path.exists():
            entry, reason = self._read(path)
            if entry is not None:
                reason = self._check(entry, expected, model, inputs)
                if not reason:
                    return CachedLogits(entry["train_logits"], entry["test_logits"], key, "hit")
        train = predict_logits(model, inputs[0], batch_size=batch_size).cpu()
        test = predict_logits(model, inputs[1], batch_size=batch_size).cpu()
        entry = {
            "train_logits": train,
            "test_logits": test,
            "meta": {**expected, "format": _FORMAT},
        }
        self._write(path, entry)
        return CachedLogits(train, test, key, "rebuilt" if reason else "miss", reason)

    def weights_path(self, recipe: dict[str, Any]) -> Path:
        """Where the weights of the teacher trained by ``recipe`` (a JSON-able dict) live."""
        digest = hashlib.sha256(json.dumps(recipe, sort_keys=True, default=str).encode())
        return self.folder / f"weights-{digest.hexdigest()[:32]}.pt"

    def load_weights(self, model: nn.Module, recipe: dict[str, Any]) -> bool:
        """Load cached weights into ``model``; False when absent or unusable (then retrain)."""
        path = self.weights_path(recipe)
        if not path.exists():
            return False
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except (RuntimeError, OSError, ValueError, KeyError, EOFError, pickle.UnpicklingError):
            return False
        return True

    def save_weights(self, model: nn.Module, recipe: dict[str, Any]) -> Path:
        """Write ``model``'s ``state_dict`` (CPU tensors) for ``recipe``."""
        path = self.weights_path(recipe)
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        self._write(path, state)
        return path

    def _read(self, path: Path) -> tuple[dict[str, Any] | None, str]:
        try:
            entry = torch.load(path, map_location="cpu", weights_only=True)
        except (RuntimeError, OSError, ValueError, EOFError, pickle.UnpicklingError) as err:
            return None, f"unreadable entry {path.name}: {type(err).__name__}"
        if not isinstance(entry, dict) or not {"train_logits", "test_logits", "meta"} <= set(entry):
            return None, f"entry {path.name} lacks train_logits/test_logits/meta"
        return entry, ""

    def _check(
        self,
        entry: dict[str, Any],
        expected: dict[str, Any],
        model: nn.Module,
        inputs: tuple[Tensor, Tensor],
    ) -> str:
        """Empty string when the entry is good; else why it is mismatched or stale."""
        meta = entry["meta"]
        for field, value in expected.items():
            if meta.get(field) != value:
                return f"mismatch: cached {field} {meta.get(field)!r} != expected {value!r}"
        for name, x in zip(("train_logits", "test_logits"), inputs, strict=True):
            cached = entry[name]
            if cached.dim() != 2 or cached.shape[0] != x.shape[0]:
                return f"mismatch: cached {name} has shape {tuple(cached.shape)} for {x.shape[0]} inputs"
            idx = self._sample_indices(x.shape[0])
            fresh = predict_logits(model, x[idx.to(x.device)]).cpu()
            if fresh.shape != cached[idx].shape:
                return (
                    f"mismatch: {name} has {cached.shape[1]} classes, the teacher {fresh.shape[1]}"
                )
            diff = float((fresh - cached[idx]).abs().max())
            scale = max(1.0, float(cached[idx].abs().max()))
            if not diff <= self.rtol * scale:  # also catches NaN
                return f"stale: {name} differ from a fresh forward pass by {diff:.3g}"
        return ""

    def _sample_indices(self, n: int) -> Tensor:
        gen = torch.Generator().manual_seed(n)
        return torch.randperm(n, generator=gen)[: min(self.sample, n)]

    def _write(self, path: Path, obj: Any) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        torch.save(obj, tmp)
        os.replace(tmp, path)
