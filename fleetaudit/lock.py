"""One fleetaudit run at a time per reports directory: an flock'ed lock file holding the holder's PID.

The kernel releases an ``flock`` when its holder dies, so a lock file left by a dead process (a stale lock)
is simply taken over; ``RunLock.taken_over_from`` then names the dead PID.
"""

from __future__ import annotations

import errno
import fcntl
import os
from types import TracebackType
from typing import Optional, Type

LOCK_NAME = ".fleetaudit.lock"


class LockHeld(Exception):
    """Another process holds the run lock; ``pid`` is its PID when the lock file names one."""

    def __init__(self, pid: Optional[int], path: str) -> None:
        self.pid = pid
        self.path = path
        holder = f"PID {pid}" if pid is not None else "an unknown process"
        super().__init__(f"another fleetaudit run is in progress ({holder}; lock file {path})")


def _read_pid(fd: int) -> Optional[int]:
    """Return the PID written in the lock file, or None."""
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 64).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None


def pid_alive(pid: int) -> bool:
    """Return whether a process with this PID exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """Context manager holding ``<reports_dir>/.fleetaudit.lock``; raises LockHeld at once when taken."""

    def __init__(self, reports_dir: str, name: str = LOCK_NAME) -> None:
        self.path = os.path.join(reports_dir, name)
        self.taken_over_from: Optional[int] = None
        self._fd: Optional[int] = None

    def acquire(self) -> None:
        """Take the lock or raise LockHeld naming the holder's PID."""
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            pid = _read_pid(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise LockHeld(pid, self.path) from None
            raise
        previous = _read_pid(fd)
        self.taken_over_from = previous if previous is not None and not pid_alive(previous) else None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Clear the PID and release the lock (the file stays, empty)."""
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.release()
