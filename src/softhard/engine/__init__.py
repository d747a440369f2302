"""The student-bank engine: many two-layer students trained in one pass (see :mod:`.bank`)."""

from softhard.engine.bank import StudentSpec, train_bank

__all__ = ["StudentSpec", "train_bank"]
