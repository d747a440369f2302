"""The deep model table: output shapes, width -> parameter count, seeded construction."""

import pytest
import torch

from softhard.device import cpu_threads
from softhard.errors import ConfigError
from softhard.models.table import MODELS, build_model, count_parameters


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny CNNs run fastest (and steadiest on a shared 2-core machine) on one thread."""
    with cpu_threads(1):
        yield


SHAPES = {
    "resnet8": (3, 32, 32),
    "resnet14": (3, 32, 32),
    "resnet20": (3, 32, 32),
    "vgg8": (3, 32, 32),
    "vgg11": (3, 32, 32),
    "cnn8x8": (1, 8, 8),
    "cnn1d": (40,),
}
WIDTHS = {"vgg8": (4, 8), "vgg11": (4, 8)}


def test_table_covers_every_arch():
    assert set(MODELS) == set(SHAPES)


@pytest.mark.parametrize("arch", sorted(SHAPES))
def test_output_shape_and_width_changes_parameters(arch):
    small, large = WIDTHS.get(arch, (4, 8))
    x = torch.randn(3, *SHAPES[arch])
    counts = []
    for width in (small, large):
        model = build_model(arch, SHAPES[arch], 7, width, seed=0).eval()
        assert model(x).shape == (3, 7)
        counts.append(count_parameters(model))
    assert counts[0] < counts[1]


@pytest.mark.parametrize("arch", ["resnet8", "vgg8", "cnn8x8"])
def test_image_models_take_other_image_sizes(arch):
    model = build_model(arch, (1, 8, 8), 10, 4, seed=0).eval()
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)


def test_cnn1d_takes_channels():
    model = build_model("cnn1d", (2, 40), 3, 4, seed=0).eval()
    assert model(torch.randn(5, 2, 40)).shape == (5, 3)


def test_resnet_depths_differ():
    counts = [
        count_parameters(build_model(a, (3, 32, 32), 10, 8, seed=0))
        for a in ("resnet8", "resnet14", "resnet20")
    ]
    assert counts[0] < counts[1] < counts[2]


def test_seed_fixes_init_and_leaves_global_rng_alone():
    state = torch.get_rng_state()
    a = build_model("cnn8x8", (1, 8, 8), 10, 4, seed=3)
    b = build_model("cnn8x8", (1, 8, 8), 10, 4, seed=3)
    c = build_model("cnn8x8", (1, 8, 8), 10, 4, seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not all(
        torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters(), strict=True)
    )


def test_wrong_input_rank_is_config_error():
    with pytest.raises(ConfigError, match="cnn1d"):
        build_model("resnet8", (40,), 10, 4, seed=0)
    with pytest.raises(ConfigError, match="unknown architecture"):
        build_model("resnet1000", (3, 32, 32), 10, 4, seed=0)
