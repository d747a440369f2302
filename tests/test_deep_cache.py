"""Teacher-output cache: hits are verified; stale, mismatched or unreadable entries are rebuilt."""

import pytest
import torch

from softhard.device import cpu_threads
from softhard.models.table import build_model
from softhard.teachers.cache import TeacherCache, cache_key, teacher_hash


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny CNNs run fastest (and steadiest on a shared 2-core machine) on one thread."""
    with cpu_threads(1):
        yield


CONFIG = {"arch": "cnn8x8", "width": 4}


@pytest.fixture
def setup(tmp_path):
    gen = torch.Generator().manual_seed(0)
    inputs = (torch.randn(40, 1, 8, 8, generator=gen), torch.randn(10, 1, 8, 8, generator=gen))
    model = build_model("cnn8x8", (1, 8, 8), 10, 4, seed=0).eval()
    return TeacherCache(tmp_path, sample=16), model, inputs


def _outputs(cache, model, inputs, fingerprint="abc", noise_seed=0):
    return cache.outputs(model, CONFIG, inputs, fingerprint=fingerprint, noise_seed=noise_seed)


def _entry_path(cache, model, fingerprint="abc", noise_seed=0):
    key = cache_key(teacher_hash(model, CONFIG), fingerprint, noise_seed)
    return cache.folder / f"outputs-{key}.pt"


def test_miss_then_verified_hit(setup):
    cache, model, inputs = setup
    first = _outputs(cache, model, inputs)
    assert first.status == "miss" and first.train_logits.shape == (40, 10)
    assert _entry_path(cache, model).exists()
    second = _outputs(cache, model, inputs)
    assert second.status == "hit" and second.reason == ""
    torch.testing.assert_close(second.train_logits, first.train_logits)
    torch.testing.assert_close(second.test_logits, model(inputs[1]).detach())


def test_stale_entry_is_detected_and_rebuilt(setup):
    cache, model, inputs = setup
    good = _outputs(cache, model, inputs)
    path = _entry_path(cache, model)
    entry = torch.load(path, weights_only=True)
    entry["train_logits"] = entry["train_logits"] + 0.5  # logits that no longer match the teacher
    torch.save(entry, path)
    rebuilt = _outputs(cache, model, inputs)
    assert rebuilt.status == "rebuilt" and rebuilt.reason.startswith("stale: train_logits")
    torch.testing.assert_close(rebuilt.train_logits, good.train_logits)
    assert _outputs(cache, model, inputs).status == "hit"  # the entry was rewritten


def test_stale_when_the_forward_pass_changes_under_same_weights(setup):
    cache, model, inputs = setup
    _outputs(cache, model, inputs)
    model.head.register_forward_hook(lambda mod, inp, out: out * 2.0)  # new code, same state_dict
    rebuilt = _outputs(cache, model, inputs)
    assert rebuilt.status == "rebuilt" and "stale" in rebuilt.reason
    torch.testing.assert_close(rebuilt.train_logits, model(inputs[0]).detach())


@pytest.mark.parametrize("field", ["fingerprint", "noise_seed", "content_hash"])
def test_mismatched_metadata_is_detected_and_rebuilt(setup, field):
    cache, model, inputs = setup
    _outputs(cache, model, inputs)
    path = _entry_path(cache, model)
    entry = torch.load(path, weights_only=True)
    entry["meta"][field] = 12345 if field == "noise_seed" else "other"
    torch.save(entry, path)
    rebuilt = _outputs(cache, model, inputs)
    assert rebuilt.status == "rebuilt" and rebuilt.reason.startswith(f"mismatch: cached {field}")


def test_wrong_shape_and_unreadable_entries_are_rebuilt(setup):
    cache, model, inputs = setup
    _outputs(cache, model, inputs)
    path = _entry_path(cache, model)
    entry = torch.load(path, weights_only=True)
    entry["train_logits"] = entry["train_logits"][:5]
    torch.save(entry, path)
    assert "mismatch" in _outputs(cache, model, inputs).reason
    path.write_bytes(b"not a torch file")
    rebuilt = _outputs(cache, model, inputs)
    assert rebuilt.status == "rebuilt" and "unreadable" in rebuilt.reason


def test_key_depends_on_weights_data_and_noise_seed(setup):
    cache, model, inputs = setup
    base = _outputs(cache, model, inputs).key
    assert _outputs(cache, model, inputs, fingerprint="other").key != base
    assert _outputs(cache, model, inputs, noise_seed=1).key != base
    with torch.no_grad():
        model.head.bias.add_(1.0)
    changed = _outputs(cache, model, inputs)
    assert changed.key != base and changed.status == "miss"


def test_weights_round_trip_and_corrupt_weights(setup):
    cache, model, _ = setup
    recipe = {"teacher": CONFIG, "fingerprint": "abc"}
    other = build_model("cnn8x8", (1, 8, 8), 10, 4, seed=1)
    assert not cache.load_weights(other, recipe)
    cache.save_weights(model, recipe)
    assert cache.load_weights(other, recipe)
    assert teacher_hash(other, CONFIG) == teacher_hash(model, CONFIG)
    cache.weights_path(recipe).write_bytes(b"garbage")
    assert not cache.load_weights(other, recipe)
