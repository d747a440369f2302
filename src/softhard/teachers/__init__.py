"""Teachers shared by every study, and where their outputs are cached.

:mod:`.two_layer`: the wide two-layer network teacher and the kernel-limit teacher of the
two-layer study. :mod:`.cache`: verified teacher-output entries of the deep study.
"""

from softhard.teachers.cache import TeacherCache, TeacherOutputs, teacher_hash
from softhard.teachers.two_layer import TeacherOutput, cache_dir, network_teacher

__all__ = [
    "TeacherCache",
    "TeacherOutput",
    "TeacherOutputs",
    "cache_dir",
    "network_teacher",
    "teacher_hash",
]
