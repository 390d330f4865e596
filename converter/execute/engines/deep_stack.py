"""Run a recursive parser on a deeply nested query, in a thread with room for it.

A Sigma list of 5,000 values becomes a chain of 5,000 `or`: duckdb-kql's translator recurses
once per operand (past Python's default limit of 1,000 frames near 1,000 values), and DuckDB's
SQL parser refuses more than `max_expression_depth` (default 1,000) levels, recursing in C on the
calling thread's stack. Both are given room here instead of failing the query: a thread with a
large stack (reserved address space, committed only as used) and a raised recursion limit for
the duration of the call.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

STACK_BYTES = 512 * 1024 * 1024
RECURSION_LIMIT = 100_000
# The recursion limit is per interpreter: one deep call at a time sets and restores it.
_DEEP_CALLS = threading.Lock()


def call_with_deep_stack(function: Callable[[], T]) -> T:
    """`function()` in a thread with a large stack and recursion limit; re-raises its error."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = function()
        except BaseException as error:  # noqa: BLE001 - handed back to the caller below
            outcome["error"] = error

    with _DEEP_CALLS:
        previous_limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(previous_limit, RECURSION_LIMIT))
        try:
            previous_size = threading.stack_size(STACK_BYTES)
            try:
                thread = threading.Thread(target=target, name="certdetect-deep-stack")
                thread.start()  # the stack size is read when the thread starts
            finally:
                threading.stack_size(previous_size)
            thread.join()
        finally:
            sys.setrecursionlimit(previous_limit)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
