"""One table of the margin estimator's setting bounds (softhard.ntk.SETTING_BOUNDS), read by the
Python API's check and by ``softhard margin``'s: the same bound, the same words, in both."""

import pytest
import torch

from softhard.cli.margin import check_options
from softhard.errors import ConfigError
from softhard.ntk import SETTING_BOUNDS, bound_problems, estimate_margin

CLI_OK = {"eps": 0.1, "num_directions": 16, "tol": 1e-3, "top": 0, "max_seconds": 5.0, "seed": 0}
X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
Y = torch.tensor([1, 1, -1, -1])


@pytest.mark.parametrize(
    ("name", "bad"), [("num_directions", 0), ("tol", 1.5), ("max_seconds", 0.0), ("seed", -1)]
)
def test_the_cli_and_the_api_share_each_bound(name, bad):
    allowed = SETTING_BOUNDS[name][1]
    with pytest.raises(ConfigError) as api:
        estimate_margin(X, Y, **{"num_directions": 16, name: bad})
    with pytest.raises(ConfigError) as cli:
        check_options(**{**CLI_OK, name: bad})
    assert f"{name} must be {allowed}" in str(api.value)
    assert f"must be {allowed}" in str(cli.value) and "--" + name.replace("_", "-") in str(
        cli.value
    )


def test_bound_problems_skips_unset_and_lists_every_bad_value():
    assert bound_problems({"max_seconds": None, "tol": 0.5}) == []
    problems = bound_problems({"max_iter": 0, "chunk_size": 0, "fresh_directions": -1})
    assert problems == [
        "max_iter must be >= 1 (got 0)",
        "chunk_size must be >= 1 (got 0)",
        "fresh_directions must be >= 0 (got -1)",
    ]
