"""The student-bank engine: many two-layer students trained in one pass (see :mod:`.bank`)."""

from softhard.engine.bank import train_bank
from softhard.engine.entry import BankEntry

__all__ = ["BankEntry", "train_bank"]
