"""Ctrl-C as a request, not an exception in the middle of native code.

Python raises `KeyboardInterrupt` wherever the main thread happens to be; inside DuckDB that
becomes `RuntimeError: Query interrupted`, inside a nanobind extension it can abort the process.
While `deferred()` is active, SIGINT only sets a flag that long loops poll with `check()`, which
raises `Interrupted` at a point where stopping is clean. A second Ctrl-C raises
`KeyboardInterrupt` at once, for a loop that does not poll.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

EXIT_CODE = 130  # 128 + SIGINT, what a shell reports for a command stopped by Ctrl-C

_requested = threading.Event()
# set once the command's work is done and its exit code chosen: a Ctrl-C after that is ignored
_finished = threading.Event()


class Interrupted(Exception):
    """The user asked to stop (Ctrl-C)."""


def request() -> None:
    """What the first Ctrl-C does under `deferred()` (tests call it directly)."""
    _requested.set()


def reset() -> None:
    _requested.clear()


def requested() -> bool:
    return _requested.is_set()


def check() -> None:
    if _requested.is_set():
        raise Interrupted


def _handler(signum: int, frame: FrameType | None) -> None:
    if _requested.is_set():
        raise KeyboardInterrupt
    request()


def _recording_handler(signum: int, frame: FrameType | None) -> None:
    if _finished.is_set():
        return
    _requested.set()
    raise KeyboardInterrupt


def finish() -> None:
    """The command is done: a Ctrl-C from now on cannot change how it ends (a late signal
    would otherwise kill the exiting interpreter, or print 'interrupted' after the results)."""
    _finished.set()


def _outside_command(signum: int, frame: FrameType | None) -> None:
    if not _finished.is_set():
        _exit_quietly(signum, frame)


@contextmanager
def process() -> Iterator[None]:
    """The whole `certdetect` process: Ctrl-C before a command runs ends it quietly, after it
    finished is ignored (the commands' own handling covers the time in between)."""
    _finished.clear()
    if not _catchable():
        yield
        return
    signal.signal(signal.SIGINT, _outside_command)
    try:
        yield
    finally:
        _finished.set()
        if not _requested.is_set():
            # the interpreter's shutdown puts the default action back, which a late Ctrl-C
            # would turn into a death by SIGINT after the work was done: ignore it
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _catchable() -> bool:
    # signals are handled by the main thread only; an ignored SIGINT (a background job, nohup)
    # stays ignored
    return (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
    )


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    sys.stderr.write("certdetect: interrupted\n")
    os._exit(EXIT_CODE)  # nothing to clean up yet: modules are being imported


@contextmanager
def while_starting() -> Iterator[None]:
    """Ctrl-C while the command's modules are imported ends it quietly, not with a traceback
    from deep inside an import."""
    if not _catchable():
        yield
        return
    previous = signal.signal(signal.SIGINT, _exit_quietly)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def deferred() -> Iterator[None]:
    """SIGINT sets the flag instead of raising, until the block ends (main thread only)."""
    if not _catchable():
        yield
        return
    previous = signal.signal(signal.SIGINT, _handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def recorded() -> Iterator[None]:
    """SIGINT raises `KeyboardInterrupt` as usual and is remembered, so that whatever error a
    library turns it into (DuckDB's "Query interrupted") is known to be an interrupt."""
    reset()
    _finished.clear()
    if not _catchable():
        yield
        return
    previous = signal.signal(signal.SIGINT, _recording_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
