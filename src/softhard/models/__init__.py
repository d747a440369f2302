"""Models: the two-layer ReLU network of the theory (deep students live in :mod:`softhard.deep`)."""

from softhard.models.two_layer import TwoLayerReLU, init_two_layer, project_rows_

__all__ = ["TwoLayerReLU", "init_two_layer", "project_rows_"]
