"""The teacher's config: its kind, stop rule, candidates, hard-label reference and calibration
(re-exported by :mod:`softhard.config`; docs/teachers-and-yardstick.md)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import (
    Field,
    model_validator,
)

from softhard.config_base import ConfigModel, TeacherKind
from softhard.data_config import Widths

StopRule = Literal["epochs", "val_loss", "val_acc", "train_tol"]


class TeacherStop(ConfigModel):
    """When a network teacher stops training (see ``docs/teachers-and-yardstick.md``).

    ``epochs``: exactly ``teacher.epochs`` epochs on the whole training set (no hold-out).
    ``val_acc``: as ``val_loss`` below, but the kept check is the one with the best validation
    accuracy, ties broken by the lower validation loss (patience counts from its last
    improvement). ``val_loss``: hold out a seeded ``val_fraction`` of the training set, train on the rest and
    check the validation logistic loss every ``check_every`` epochs; stop when it has not
    improved for ``patience`` epochs or at ``max_epochs``, and keep the weights of the best
    check. ``train_tol``: the same hold-out, but stop when the training loss changed by less
    than ``tol`` (relative) over the last ``check_every`` epochs; keep the last weights.
    """

    rule: StopRule = "epochs"
    patience: int = Field(500, ge=1, description="val_loss: epochs without improvement")
    val_fraction: float = Field(0.2, gt=0.0, lt=1.0, description="held-out share of train")
    tol: float = Field(1e-3, gt=0.0, description="train_tol: relative change per check")
    max_epochs: int = Field(5000, ge=1, description="cap on epochs (val_loss, train_tol)")
    check_every: int = Field(50, ge=1, description="epochs between checks")


class TeacherCandidate(ConfigModel):
    """One teacher to try: settings that replace the teacher's own (None: keep them)."""

    width: int | None = Field(None, ge=1)
    lr: float | None = Field(None, gt=0.0)
    max_epochs: int | None = Field(None, ge=1, description="the stop rule's cap (horizon)")


class TeacherReference(ConfigModel):
    """The cheap hard-label reference a teacher candidate must not be significantly worse
    than on validation (two-layer students trained on the teacher's fit part)."""

    widths: Widths = Field(default_factory=lambda: [1, 2, 4, 8, 16, 32, 64], min_length=1)
    epochs: int = Field(500, ge=1)
    lr: float = Field(1.0, gt=0.0)


class TeacherConfig(ConfigModel):
    """The teacher whose logits give the soft labels sigmoid(F(x) / T).

    With ``candidates`` (network teachers, a validation stop rule) each candidate is tried in
    order and the search stops at the first one that is not significantly worse (exact McNemar
    at ``weak_alpha``) than the hard-label ``reference`` on validation (``try_all``: train every
    candidate); the teacher kept is the best of those tried on validation accuracy, ties broken
    by validation loss. ``calibrate`` fits one temperature to the validation NLL.
    """

    kind: TeacherKind = Field(
        "network", description="'network': wide two-layer net; 'kernel'; 'logits': from a file"
    )
    width: int = Field(4096, ge=1)
    epochs: int = Field(300, ge=1, description="network teacher, stop.rule 'epochs': epochs")
    stop: TeacherStop = TeacherStop()
    lr: float = Field(1.0, gt=0.0)
    seed: int = Field(12345, description="network teacher: seed of its initialisation")
    beta: float | None = Field(None, gt=0.0, description="kernel teacher: logit scale (1/gamma)")
    candidates: list[TeacherCandidate] = Field(
        default_factory=list, description="teachers to try, in order (see TeacherConfig)"
    )
    try_all: bool = Field(False, description="train every candidate, not only until one is strong")
    reference: TeacherReference = TeacherReference()
    weak_alpha: float = Field(0.05, gt=0.0, lt=1.0, description="level of the McNemar test")
    calibrate: bool = Field(False, description="fit one temperature to the validation NLL")
    path: str | None = Field(
        None, description="kind 'logits': .npz of teacher logits (relative to the config file)"
    )
    sha256: str | None = Field(
        None,
        description="kind 'logits': the file's content digest (16 hex digits), filled in when a "
        "config file is loaded; a changed file is refused and keys new stored runs",
    )

    renamed_keys: ClassVar[dict[str, str]] = {
        "num_directions": "the directions of the NTK margin estimate (which a kernel "
        "teacher is built from) are set in the top-level section 'margin': write "
        "margin: {num_directions: K}"
    }

    @model_validator(mode="after")
    def _logits_need_a_path(self) -> TeacherConfig:
        if (self.kind == "logits") != (self.path is not None) or (
            self.sha256 is not None and self.kind != "logits"
        ):
            raise ValueError(
                "teacher.kind 'logits' reads the teacher's logits from teacher.path (a .npz "
                "file, see docs/teachers-and-yardstick.md); give both, or neither"
            )
        return self

    @model_validator(mode="after")
    def _selection_needs_validation(self) -> TeacherConfig:
        wants = [k for k in ("candidates", "calibrate") if getattr(self, k)]
        if wants and (self.kind != "network" or self.stop.rule == "epochs"):
            raise ValueError(
                f"teacher.{wants[0]} needs a network teacher with a validation split: set "
                "teacher.stop.rule to val_acc (or val_loss, train_tol)"
            )
        return self
