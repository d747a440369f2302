"""Teachers shared by every study, and the one folder where they are cached.

:mod:`.cache`: the convention (:func:`cache_dir`, :func:`teachers_dir`) and the verified
teacher-output entries of deep teachers. :mod:`.two_layer`: the wide two-layer network teacher
and the kernel-limit teacher of the two-layer study; :mod:`.selection` chooses a teacher on
validation; :mod:`.weak` flags a weak one; :mod:`.logits` reads and writes teacher-logits files.
"""

from softhard.teachers.cache import (
    CachedLogits,
    TeacherCache,
    cache_dir,
    teacher_hash,
    teachers_dir,
)
from softhard.teachers.logits import read_teacher_logits, write_teacher_logits
from softhard.teachers.two_layer import TeacherOutput, chosen_teacher, network_teacher

__all__ = [
    "CachedLogits",
    "TeacherCache",
    "TeacherOutput",
    "cache_dir",
    "chosen_teacher",
    "network_teacher",
    "read_teacher_logits",
    "teacher_hash",
    "teachers_dir",
    "write_teacher_logits",
]
