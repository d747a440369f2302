import pytest

from softhard.student import LABEL_MODES, Student, resolve_kd_weight


@pytest.mark.parametrize(("mode", "weight"), [("soft", 1.0), ("hard", 0.0), ("mixed", 0.3)])
def test_kd_weight_is_resolved_from_the_label_mode(mode, weight):
    assert resolve_kd_weight(mode, 0.3) == weight
    assert Student(8, 0, mode, kd_weight=0.3).soft_weight == weight


def test_unknown_mode_and_bad_weight_are_named():
    with pytest.raises(ValueError, match="label_mode must be one of"):
        resolve_kd_weight("kd")
    with pytest.raises(ValueError, match="kd_weight"):
        Student(8, 0, "mixed", kd_weight=1.5)
    with pytest.raises(ValueError, match="width"):
        Student(0, 0, "soft")


def test_student_is_a_frozen_hashable_value():
    a, b = Student(4, 1, "soft", 2.0), Student(4, 1, "soft", 2.0)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    with pytest.raises(AttributeError):
        a.width = 5  # type: ignore[misc]
    assert set(LABEL_MODES) == {"soft", "hard", "mixed"}
