"""Who holds a claimed run: owner tokens (``host:pid:random``) and whether a claim has ended
(moved out of :mod:`softhard.sweep.store`; its docstring describes claims and leases)."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path


def new_owner() -> str:
    """An owner token for one driver: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_gone(owner: str | None, me: str) -> bool:
    """True if ``owner`` is a driver of this host whose process has ended (or an old one of ours)."""
    if not owner or owner == me:
        return not owner
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine's driver: assume it is alive
    pid = int(pid_text)
    if pid == os.getpid():
        return True  # an earlier driver in this process that did not finish
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return is_zombie(pid)


def claim_ended(owner: str | None, lease_until: float | None, me: str, now: float) -> bool:
    """A running run may be claimed again: its driver is gone or its lease has ended."""
    if owner_gone(owner, me):
        return True
    return lease_until is not None and lease_until < now and owner != me


def is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return False


__all__ = ["claim_ended", "is_zombie", "new_owner", "owner_gone"]
