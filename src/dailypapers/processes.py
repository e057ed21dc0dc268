"""Processes that must not outlive the one that started them."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1  # prctl(2), <linux/prctl.h>
PARENT_POLL = 1.0  # seconds between a worker's looks at whether its parent lives, where prctl is missing


def end_with_parent(parent: int, signum: int = signal.SIGKILL) -> None:
    """Have this worker process get `signum` when its parent process (pid `parent`) dies. After a
    `kill -9` of an import nobody else would end its workers: each waits for its next chunk forever (it
    holds the task pipe's write end too, so it never reads an end of file), keeping its hundreds of MB.
    Dying at any moment is safe: a chunk is written in one transaction with its checkpoint, so a rerun
    resumes after the last chunk committed. (`serve`'s web workers use it too, with SIGTERM.)

    On Linux the kernel sends it (prctl PR_SET_PDEATHSIG; strictly, when the parent's thread that
    started this process ends: the pool forks its workers in the thread that first submits, the one that
    runs the import to its end, and uvicorn starts its workers from its main thread). Elsewhere a thread
    looks every PARENT_POLL seconds."""
    if sys.platform.startswith("linux"):
        try:
            prctl = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):
            prctl = None
        if prctl is not None and prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0:
            if os.getppid() != parent:  # it died between the start and prctl: no signal will come
                os.kill(os.getpid(), signum)
            return
    threading.Thread(target=_watch_parent, args=(parent, signum), name="parent-watch", daemon=True).start()


def _watch_parent(parent: int, signum: int) -> None:
    while os.getppid() == parent:  # an orphan is adopted by another process
        time.sleep(PARENT_POLL)
    os.kill(os.getpid(), signum)
