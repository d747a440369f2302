"""Teachers shared by every study, and the one folder where they are cached.

:mod:`.cache`: the convention (:func:`cache_dir`, :func:`teachers_dir`) and the verified
teacher-output entries of deep teachers. :mod:`.two_layer`: the wide two-layer network teacher
and the kernel-limit teacher of the two-layer study.
"""

from softhard.teachers.cache import (
    TeacherCache,
    TeacherOutputs,
    cache_dir,
    teacher_hash,
    teachers_dir,
)
from softhard.teachers.two_layer import TeacherOutput, network_teacher

__all__ = [
    "TeacherCache",
    "TeacherOutput",
    "TeacherOutputs",
    "cache_dir",
    "network_teacher",
    "teacher_hash",
    "teachers_dir",
]
