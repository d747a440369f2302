"""Datasets: sources (digits, mnist1d, mnist, synthetic, file), binary tasks, difficulty transforms."""

from softhard.data._dataset import Dataset

__all__ = ["Dataset"]
