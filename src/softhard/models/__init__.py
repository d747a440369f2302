"""Models: every architecture, the two-layer ReLU network of the theory (:mod:`.two_layer`) and the
deep students' table (:mod:`.table`: ResNets, VGGs, small CNNs)."""

from softhard.models.table import MODELS, Arch, build_model, count_parameters, predict_logits
from softhard.models.two_layer import TwoLayerReLU, init_two_layer, project_rows_

__all__ = [
    "MODELS",
    "Arch",
    "TwoLayerReLU",
    "build_model",
    "count_parameters",
    "init_two_layer",
    "predict_logits",
    "project_rows_",
]
