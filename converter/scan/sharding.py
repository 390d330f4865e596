"""Scanning on every core: the inputs are cut into pieces (a large JSON-lines file into byte
ranges at line starts, any other file whole), this process and worker processes read, decode and
evaluate one piece each as they come free, and the results come back in input order, numbered
as one reading of all the inputs would number them.

Why: reading, decoding and evaluating an event costs the same wherever it happens, and in one
process the four evaluators keep one core busy while the others idle. A line is one record in a
JSON-lines file (`converter.formats.json_records.read_lines`), so a range read on its own gives
the records one reading gives, line for line: the same items, the same malformed records, the
same matches (each item is evaluated on its own, `converter.scan.scanner`); a whole file is read
as one process reads it. Only what is counted per process (evaluator seconds) differs.
`tests/test_scan_sharding.py` compares sharded scans with one-process scans on the real
baselines, a file with malformed and blank lines, and a folder of every input format.

The workers start while this process compiles dist/ (`WorkerPool`, made before the scanner), a
thread of this process gives a worker its next piece the moment it is done with one (this process
may be evaluating a batch for a second or more), and a large file's last ranges are smaller
(`tapered`), so that the processes run out of work together.

A range needs a plain (not gzipped), UTF-8 JSON-lines file at a path; standard input, copied to
an anonymous temporary file, is read by this process only. Workers are spawned (not forked: the
scanning process holds DuckDB, whose threads do not survive a fork), each compiles `dist/`
itself, ignores SIGINT (Ctrl-C is the scanning process's to handle: it stops the workers and
prints the partial summary), counts what it reads in counters shared with the scanning process
(the progress bar) and writes its temporary files (KQL's row loads) to a folder of this scan,
removed at the end whatever happened.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from converter.core import interrupts
from converter.core.errors import InputError
from converter.core.project import Project
from converter.formats.base import BadRecord, Opened
from converter.formats.json_records import read_lines
from converter.formats.readers import InputFile
from converter.scan.describe import EventFacts
from converter.scan.inputs import FileTally, Inputs, records
from converter.scan.scanner import EvaluatorStats, EventResult, Scanner, ScanSummary

# Smaller inputs are read by one process unless --jobs asks: a worker first compiles dist/ and
# each piece costs the KQL engine its query plans. On the real baselines (9% of the events
# worked on), two processes against one: 138 MB 1.84 s and 1.77 s, 189 MB 2.08 s and 2.11 s,
# 276 MB 2.35 s and 2.57 s, 2,637 MB 9.8-10.0 s and 17.0-17.3 s.
MIN_BYTES = 256 << 20
MIN_CHUNK = 32 << 20
MAX_CHUNK = 256 << 20
RANGES_PER_JOB = 4
MAX_JOBS = 8
WAIT = 0.1  # seconds between interrupt checks while waiting for a piece
PROGRESS_LINES = 1024  # lines between progress counts


def default_jobs() -> int:
    """The cores this process may run on (at most `MAX_JOBS`)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    return max(1, min(usable, MAX_JOBS))


def splittable(file: InputFile) -> bool:
    """Whether `file` can be read in byte ranges: JSON lines, stored as they are, in UTF-8
    without a byte-order mark, at a path (not standard input)."""
    return (
        file.format == "json-lines"
        and not file.compressed
        and file.spool is None
        and file.encoding == "utf-8"
    )


def worth_sharding(files: Sequence[tuple[InputFile, FileTally]]) -> bool:
    """Whether the inputs are large enough for worker processes by default (`MIN_BYTES`)."""
    return sum(file.size for file, _ in files if file.spool is None) >= MIN_BYTES


def ranges(size: int, chunk: int) -> list[tuple[int, int]]:
    """Byte ranges [start, end) covering a file of `size` bytes. A range holds the lines that
    start in it (`range_lines`), so each line belongs to exactly one range."""
    return [(start, min(start + chunk, size)) for start in range(0, size, chunk)] or [(0, 0)]


def tapered(size: int, chunk: int, jobs: int) -> list[tuple[int, int]]:
    """`ranges` of `chunk` bytes, but for the last `jobs` chunks' worth, cut in `2 * jobs`
    smaller ranges (at least `MIN_CHUNK / 2`): the processes then run out of work at nearly the
    same time, where a last whole range would leave the others waiting for one."""
    tail = min(size, jobs * chunk)
    head = ((size - tail) // chunk) * chunk
    cut = [(start, start + chunk) for start in range(0, head, chunk)]
    rest = size - head
    small = max(MIN_CHUNK // 2, -(-rest // (2 * jobs)))
    cut += [(start, min(start + small, size)) for start in range(head, size, small)]
    return cut or [(0, 0)]


def chunk_size(size: int, jobs: int) -> int:
    """Bytes per range: about `RANGES_PER_JOB` ranges per process (so that they finish
    together), between `MIN_CHUNK` and `MAX_CHUNK` (each range costs the KQL engine a query
    plan per query and table, whatever its size)."""
    return max(MIN_CHUNK, min(MAX_CHUNK, size // (jobs * RANGES_PER_JOB) + 1))


@dataclass(frozen=True)
class Piece:
    """What one process scans at a time: whole files (read one after the other, in one run of
    batches), or the lines of one file starting in [start, end)."""

    files: tuple[tuple[int, InputFile], ...]  # (position in the inputs, file)
    start: int | None = None  # None: the files whole
    end: int | None = None
    here_only: bool = False  # standard input's copy: no worker can open it

    @property
    def name(self) -> str:
        return self.files[0][1].name


def pieces(
    files: Sequence[tuple[InputFile, FileTally]], jobs: int, chunk: int | None = None
) -> list[Piece]:
    """The inputs cut into pieces of about a range each, in input order: a splittable file
    larger than a range into ranges; other files whole, consecutive small ones together (each
    piece costs the KQL engine a query plan per query and table, a folder of small files would
    otherwise pay it per file)."""
    cut: list[Piece] = []
    total = sum(file.size for file, _ in files)
    size = chunk or chunk_size(total, jobs)
    group: list[tuple[int, InputFile]] = []

    def close() -> None:
        if group:
            cut.append(Piece(tuple(group)))
            group.clear()

    for number, (file, _) in enumerate(files):
        if file.spool is not None:
            close()
            cut.append(Piece(((number, file),), here_only=True))
        elif splittable(file) and file.size > size:
            close()
            cut += [
                Piece(((number, file),), start, end)
                for start, end in tapered(file.size, size, jobs)
            ]
        else:
            group.append((number, file))
            if sum(member.size for _, member in group) >= size:
                close()
    close()
    return cut


def range_lines(path: Path, start: int, end: int) -> Iterator[bytes]:
    """The lines of `path` that start at an offset in [start, end), with their line ends,
    read as they are used (a range can be hundreds of megabytes)."""
    with path.open("rb") as handle:
        if start > 0:
            handle.seek(start - 1)
            if handle.read(1) != b"\n":
                handle.readline()  # the line that started before `start` is the previous range's
        position = handle.tell()
        while position < end:
            line = handle.readline()
            if not line:
                return
            position += len(line)
            yield line


@dataclass
class PieceResult:
    """What a process found in one piece. A range's sources, line numbers and item indices
    count from the range's start ("name:1", index 0); a whole file's are final but for the
    indices."""

    lines: int = 0  # a range's lines
    items: int = 0
    # whole files: each one's records read, malformed records skipped, why it was unreadable
    tallies: list[tuple[int, int, str | None]] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)
    bad: list[tuple[str, str, bool]] = field(default_factory=list)  # source, message, lost
    matches: list[tuple[int, str, dict[str, list[str]], EventFacts]] = field(default_factory=list)
    evaluators: dict[str, EvaluatorStats] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class _Counted:
    """The lines (or records) of a piece, counted as they are read, and added to `progress`
    (records, bytes) every `PROGRESS_LINES`."""

    def __init__(self, lines: Iterator[Any], progress: Any | None = None) -> None:
        self._lines = lines
        self._progress = progress
        self.count = 0

    def __iter__(self) -> Iterator[Any]:
        progress = self._progress
        pending = size = 0
        for line in self._lines:
            self.count += 1
            if progress is not None:
                pending += 1
                if type(line) is bytes:
                    size += len(line)
                if pending >= PROGRESS_LINES:
                    _add(progress, pending, size)
                    pending = size = 0
            yield line
        if progress is not None and pending:
            _add(progress, pending, size)


def _add(progress: Any, records: int, size: int) -> None:
    with progress.get_lock():
        progress[0] += records
        progress[1] += size


# the worker's scanner (or why it could not be made: raised with each piece, as a failing
# initializer would make the pool start new workers forever) and its progress counters
_worker: Scanner | BaseException | None = None
_progress: Any | None = None


def _start_worker(root: str, names: list[str] | None, folder: str, progress: Any) -> None:
    global _worker, _progress
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tempfile.tempdir = folder
    _progress = progress
    try:
        # a stale dist/ is the scanning process's to refuse (it then ends the workers)
        _worker = Scanner.for_project(Project.at(root), names, allow_stale=True)
    except BaseException as error:  # noqa: BLE001 - reported with the first piece
        _worker = error


def _scan_piece(task: tuple[Piece, float]) -> PieceResult:
    scanner = _worker
    if not isinstance(scanner, Scanner):
        raise RuntimeError(f"a scan worker could not start: {scanner}")
    piece, share = task
    result = scan_piece(scanner, piece, share, _progress)
    if result is None:  # only the scanning process is interrupted
        raise RuntimeError("a scan worker was interrupted")
    return result


def scan_piece(
    scanner: Scanner,
    piece: Piece,
    batch: float = 1.0,
    progress: Any | None = None,
    on_step: Callable[[], None] | None = None,
) -> PieceResult | None:
    """Scan one piece; None when Ctrl-C stopped it (`converter.core.interrupts`). `batch`
    scales the scanner's batch limits; `progress` (records, bytes) counts what is read, and
    `on_step` is called as it is."""
    whole = Inputs([], [], [])
    if piece.start is None or piece.end is None:
        for _, file in piece.files:
            whole.add(file)
        counted = _Counted(records(whole, scanner.wants), progress)
        read: Iterator[Any] = iter(counted)
    else:
        file = piece.files[0][1]
        counted = _Counted(range_lines(file.path, piece.start, piece.end), progress)
        opened = Opened(counted, file.name, "utf-8", scanner.wants)  # type: ignore[arg-type]
        read = read_lines(opened)
    result = PieceResult()
    summary = ScanSummary()

    def on_bad(bad: BadRecord) -> None:
        result.bad.append((bad.source, bad.message, bad.lost))

    found_all = scanner.scan(
        read,
        summary,
        only_matches=True,
        on_bad=on_bad,
        on_progress=(lambda _: on_step()) if on_step is not None else None,
        batch=batch,
    )
    for found in found_all:
        result.matches.append((found.index, found.source, found.matches, found.facts))
    if summary.interrupted:
        return None
    if piece.start is None and progress is not None:
        _add(progress, 0, sum(file.size for _, file in piece.files))  # once read
    result.tallies = [(t.read, t.skipped, t.unreadable) for t in whole.tallies]
    result.lines = counted.count
    result.items = summary.events
    result.kinds = summary.kinds
    result.evaluators = summary.evaluators
    result.errors = summary.errors
    return result


def _merge(summary: ScanSummary, part: PieceResult) -> None:
    summary.events += part.items
    for kind, count in part.kinds.items():
        summary.kinds[kind] = summary.kinds.get(kind, 0) + count
    for name, stats in part.evaluators.items():
        total = summary.evaluators.setdefault(name, EvaluatorStats())
        total.events += stats.events
        total.seconds += stats.seconds
        for rule_id, count in stats.matches.items():
            total.matches[rule_id] = total.matches.get(rule_id, 0) + count
    summary.errors.extend(part.errors)


class PieceProgress:
    """How far every process has read: records and stored bytes, counted as they are read
    (what the progress bar asks a `Reading` for: `position`)."""

    def __init__(self) -> None:
        self.counters: Any | None = None  # shared with the workers: records, bytes

    def records(self) -> int:
        return self.counters[0] if self.counters is not None else 0

    def position(self) -> int:
        return self.counters[1] if self.counters is not None else 0


class WorkerPool:
    """The worker processes of a scan, started as soon as the inputs are known: each compiles
    dist/ while this process compiles its own (a worker started after it would leave a core idle
    for that long). `close` ends them and removes their temporary folder, whatever happened."""

    def __init__(self, project: Project, names: Sequence[str] | None, jobs: int) -> None:
        self.jobs = jobs
        context = multiprocessing.get_context("spawn")
        self.counters = context.Array("q", 2)  # records and bytes read, by every process
        self.folder = tempfile.mkdtemp(prefix="certdetect-scan-")
        chosen = list(names) if names is not None else None
        # a worker that fails or dies breaks the pool, and every waiting piece says so
        self.pool = ProcessPoolExecutor(
            jobs - 1,
            context,
            _start_worker,
            (str(project.root), chosen, self.folder, self.counters),
        )
        self.pending: deque[Future[Any]] = deque()
        self.ready: list[Future[None]] = []  # each worker's start (`_ready`), also in `pending`
        self.closed = False
        with _sigint_ignored():  # inherited by the workers: Ctrl-C is this process's to handle
            # the executor starts a process per task submitted while none is idle
            for _ in range(jobs - 1):
                self.ready.append(self.pool.submit(_ready))
            self.pending.extend(self.ready)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        _stop(self.pool, self.pending)
        shutil.rmtree(self.folder, ignore_errors=True)


def _ready() -> None:
    """A worker's first task: its start (`_start_worker`), and whether it failed."""
    if not isinstance(_worker, Scanner):
        raise RuntimeError(f"a scan worker could not start: {_worker}")


def scan_sharded(
    scanner: Scanner,
    project: Project,
    files: Sequence[tuple[InputFile, FileTally]],
    summary: ScanSummary,
    jobs: int,
    *,
    on_bad: Callable[[BadRecord], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    progress: PieceProgress | None = None,
    chunk: int | None = None,
    workers: WorkerPool | None = None,
) -> Iterator[EventResult]:
    """Scan `files` with this process's `scanner` and `jobs - 1` worker processes (the same
    evaluators, compiled from `project`; `workers` when they were started already, and closed
    here), the pieces taken as they come free; yield each matching event's result in input
    order. The results, `summary`, the tallies and the malformed records given to `on_bad` are
    those of a one-process scan. `on_progress` gets the records read so far by every process,
    while they read; `progress` says how far they are. On Ctrl-C the workers are stopped, the
    pieces not yet merged count nowhere and `summary.interrupted` is set."""
    if workers is None:
        workers = WorkerPool(project, [evaluator.name for evaluator in scanner.evaluators], jobs)
    jobs = workers.jobs
    cut = pieces(files, jobs, chunk)
    # each process's batches are this share of a one-process scan's: together they hold as much
    share = 1 / jobs
    counters = workers.counters
    if progress is not None:
        progress.counters = counters

    def report() -> None:
        if on_progress is not None:
            on_progress(counters[0])

    pool, pending = workers.pool, workers.pending
    # each piece, in input order: not yet taken (None), given to a worker, being scanned here
    # (`_HERE`), or scanned
    slots: list[Any] = [None] * len(cut)
    lock = threading.Lock()  # the slots and `pending`, shared with the dealer thread
    stopped = threading.Event()

    def give() -> None:
        # a worker without a piece gets the first one nobody has taken (merged soonest)
        with lock:
            busy = sum(1 for future in pending if not future.done())
            for number, slot in enumerate(slots):
                if busy >= jobs - 1:
                    return
                if slot is None and not cut[number].here_only:
                    slots[number] = future = pool.submit(_scan_piece, (cut[number], share))
                    pending.append(future)
                    busy += 1

    def deal() -> None:
        # gives a piece the moment a worker is done with one: this process may be in the middle
        # of a batch for a second or more
        while not stopped.is_set():
            with lock:
                running = [future for future in pending if not future.done()]
            if running:
                wait(running, timeout=WAIT, return_when=FIRST_COMPLETED)
            else:
                stopped.wait(WAIT / 10)
            if not stopped.is_set():
                give()

    def take() -> int | None:
        # the first piece nobody has taken, for this process
        with lock:
            free = next((n for n, taken in enumerate(slots) if taken is None), None)
            if free is not None:
                slots[free] = _HERE
            return free

    dealer = threading.Thread(target=deal, name="certdetect-dealer", daemon=True)
    offsets = [0] * len(files)  # per file: the lines of its ranges merged so far
    try:
        give()
        dealer.start()
        for number, piece in enumerate(cut):
            while True:  # until piece `number` is scanned, this process scans the next free one
                slot = slots[number]
                if isinstance(slot, PieceResult) or (isinstance(slot, Future) and slot.done()):
                    break
                _started(workers)
                free = take()
                if free is None:
                    break  # a worker has it: wait for it
                found = scan_piece(scanner, cut[free], progress=counters, on_step=report)
                if found is None:
                    raise interrupts.Interrupted
                slots[free] = found
            slot = slots[number]
            part = slot if isinstance(slot, PieceResult) else _result(slot, piece, report)
            slots[number] = part
            yield from _merged(piece, part, offsets, files, summary, on_bad)
            slots[number] = PieceResult()  # merged: its matches need not be held any longer
            report()
    except interrupts.Interrupted:
        summary.interrupted = True
    finally:
        stopped.set()
        if dealer.is_alive():
            dealer.join()
        workers.close()


def _started(workers: WorkerPool) -> None:
    """InputError (one line) when a worker could not start."""
    for future in workers.ready:
        if future.done() and not future.cancelled() and future.exception() is not None:
            error = future.exception()
            message = f"a scan worker failed: {type(error).__name__}: {error}"
            raise InputError(None, message)


def _merged(
    piece: Piece,
    part: PieceResult,
    offsets: list[int],
    files: Sequence[tuple[InputFile, FileTally]],
    summary: ScanSummary,
    on_bad: Callable[[BadRecord], None] | None,
) -> Iterator[EventResult]:
    """The piece's results, numbered as one reading of the inputs numbers them, its counts
    added to the summary and its files' tallies."""
    number = piece.files[0][0]
    name, offset = piece.name, offsets[number]
    ranged = piece.start is not None

    def source(found: str) -> str:
        if not ranged:
            return found
        return f"{name}:{int(found[len(name) + 1 :]) + offset}"  # "name:line" of the range

    for where, message, lost in part.bad:
        summary.bad += 1
        if on_bad is not None:
            on_bad(BadRecord(source(where), message, lost))
    base = summary.events
    for index, where, matches, facts in part.matches:
        yield EventResult(base + index, source(where), matches, facts)
    _merge(summary, part)
    if ranged:
        tally = files[number][1]
        tally.read += part.items
        tally.skipped += sum(1 for _, _, lost in part.bad if not lost)
        offsets[number] += part.lines
        return
    for (position, _), (read, skipped, unreadable) in zip(piece.files, part.tallies, strict=True):
        tally = files[position][1]
        tally.read += read
        tally.skipped += skipped
        tally.unreadable = unreadable or tally.unreadable


_HERE = object()  # a piece this process is scanning


def _stop(pool: ProcessPoolExecutor, pending: deque[Future[PieceResult]]) -> None:
    """End the workers now, whatever they are doing (after Ctrl-C, or with pieces left)."""
    for future in pending:
        future.cancel()
    # the executor only waits for a running task; its processes are ended here (a private
    # attribute of concurrent.futures, read defensively)
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.join()


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while the workers start: a process started meanwhile keeps ignoring it
    (an ignored signal stays ignored across exec), so a Ctrl-C while a worker is still importing
    cannot print its traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _result(future: Future[PieceResult], piece: Piece, report: Callable[[], None]) -> PieceResult:
    """A worker's piece, waited for in short steps so that Ctrl-C is seen and the progress goes
    on; a worker's failure is one line."""
    while True:
        interrupts.check()
        report()
        try:
            return future.result(WAIT)
        except FutureTimeout:
            continue
        except Exception as error:  # noqa: BLE001 - a worker's failure, or a dead worker
            message = f"a scan worker failed: {type(error).__name__}: {error}"
            raise InputError(piece.name, message) from None
