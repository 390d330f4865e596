"""What `certdetect scan` reads: its arguments expanded into input files, and the records of
those files with a tally per file.

| argument | read as |
| --- | --- |
| a file | its format detected (`converter.formats.readers.detect`); none known: exit 2 |
| a folder | every file below it, recursively, in path order (unknown formats: listed, skipped) |
| `-` | standard input, spooled to an anonymous temporary file |
| a pipe or device (`<(...)`, `/dev/stdin`, `/dev/null`) | spooled the same way |

A file's tally counts the records read, the malformed records skipped, and says why the file
(or its end) could not be read.
"""

from __future__ import annotations

import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from converter.core.errors import InputError
from converter.formats.base import BadRecord, Item, KeyFilter
from converter.formats.readers import InputFile, Reading, detect, spooled

STDIN = "-"


@dataclass
class FileTally:
    name: str
    read: int = 0  # records read (events, rows)
    skipped: int = 0  # malformed records skipped
    unreadable: str | None = None  # why the file, or the rest of it, could not be read


@dataclass
class Inputs:
    files: list[tuple[InputFile, FileTally]]  # the files to read
    tallies: list[FileTally]  # one per file given or found, in order, unreadable ones included
    spools: list[IO[bytes]]

    def add(self, file: InputFile) -> None:
        tally = FileTally(file.name)
        self.files.append((file, tally))
        self.tallies.append(tally)

    @property
    def size(self) -> int:
        return sum(file.size for file, _ in self.files)

    def close(self) -> None:
        for spool in self.spools:
            spool.close()


def _folder_files(folder: Path) -> list[Path]:
    # sorted by path parts, so that a folder is scanned in the same order on every machine
    return sorted((path for path in folder.rglob("*") if path.is_file()), key=lambda p: p.parts)


def expand(arguments: Sequence[str], stdin: IO[bytes] | None = None) -> Inputs:
    """The input files the arguments name, in order; InputError for a missing path or a named
    file of no known format."""
    inputs = Inputs([], [], [])
    try:
        for argument in arguments:
            _add(inputs, argument, stdin)
    except BaseException:
        inputs.close()
        raise
    return inputs


def _add(inputs: Inputs, argument: str, stdin: IO[bytes] | None) -> None:
    if argument == STDIN:
        _add_stream(inputs, Path(STDIN), STDIN, stdin if stdin is not None else sys.stdin.buffer)
        return
    path = Path(argument)
    try:
        mode = path.stat().st_mode
    except OSError:
        raise InputError(path, "no such file or folder") from None
    if stat.S_ISDIR(mode):
        for member in _folder_files(path):
            try:
                file = detect(member)
            except InputError as error:
                # the list of formats expected is in the message for a named file
                reason = error.message.split(" (expected", 1)[0]
                inputs.tallies.append(FileTally(str(member), unreadable=reason))
                continue
            inputs.add(file)
    elif stat.S_ISREG(mode):
        inputs.add(detect(path))
    else:
        with path.open("rb") as stream:
            _add_stream(inputs, path, argument, stream)


def _add_stream(inputs: Inputs, path: Path, label: str, stream: IO[bytes]) -> None:
    copy = spooled(stream)
    inputs.spools.append(copy)
    inputs.add(detect(path, copy, label))


def records(
    inputs: Inputs,
    wanted: KeyFilter | None,
    on_file: Callable[[Reading | None, int], None] | None = None,
) -> Iterator[Item | BadRecord]:
    """The records of every file, counted in its tally. `on_file` gets each file's `Reading`
    as it starts, and the stored bytes of the files done."""
    done = 0
    for file, tally in inputs.files:
        reading = Reading(file, wanted)
        if on_file is not None:
            on_file(reading, done)
        for record in reading:
            if type(record) is BadRecord:
                if record.lost:  # type: ignore[union-attr]
                    tally.unreadable = record.message  # type: ignore[union-attr]
                else:
                    tally.skipped += 1
            else:
                tally.read += 1
            yield record
        done += file.size
    if on_file is not None:
        on_file(None, done)
