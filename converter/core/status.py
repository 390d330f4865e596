"""The verdict an evaluator gives a rule, as `dist/manifest.json` and `certdetect convert` spell it.

A `str` enum, so a status compares equal to its JSON string and `json.dumps` writes the value
(`enum.StrEnum` would do the same but needs Python 3.11; the project supports 3.10).
"""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    VERIFIED = "verified"  # executed on every case and agreed with each
    CONVERTED = "converted"  # a query exists, but no engine here executes the target
    UNSUPPORTED = "unsupported"  # refused on purpose; the reason says why
    FAILED = "failed"  # disagreed with a case, or the engine rejected the query

    def __str__(self) -> str:
        # str() of a mixed-in enum is "Status.VERIFIED" on 3.11+; messages want the word
        return self.value
