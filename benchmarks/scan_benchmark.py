"""Benchmark `certdetect scan` on the real baseline replicated to many events.

    python benchmarks/scan_benchmark.py --events 1000000

Builds its input in a temporary folder from the 25,184 real events of
`../shared/real-logs/splunk-attack-data/baseline_*.tgz` (flat NXLog JSON, one event a line),
repeated until `--events` lines, then measures, in events of input per CPU second of the
benchmark process (`time.process_time`, all its threads: on a machine shared with other work,
wall time measures the neighbours as much as the scan):

1. decode only: reading the lines and `orjson.loads` on each (the ceiling of a streaming scan);
2. each evaluator alone (sigma, eql, spl, kql) over the whole rule set: end to end (read,
   decode, parse, evaluate) and its evaluation alone (time in its ingest model and engine);
3. all evaluators together, as `certdetect scan` runs them;
4. Elastic's `eql` PythonEngine and this project's EQL engine on the same EQL queries
   (dist/eql) and the same ECS documents (the events the ECS model stores), evaluation only;
5. the real CLI (`python -m converter scan`) in a child process on a quarter of the input and on
   all of it, with one process (`--jobs 1`) and with every core (the default: the file is read
   in byte ranges by this many processes, `converter.scan.sharding`): wall and CPU time, and the
   peak of the resident memory of all its processes together (sampled every 0.1 s from /proc),
   to show that memory does not grow with the input; the wall-time rates are set beside the
   wall-time decode rate, measured on the same lines in the same run;
6. startup: the best wall time of five runs on the input's first event, with the reference
   alone and with every evaluator, with the compiled-query cache of earlier runs (what a SOC
   engineer's second scan finds) and with an empty one (`CERTDETECT_CACHE_DIR`).

The figures are printed as a Markdown table. The benchmark is not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
# CPU time of this process (all its threads): on a machine shared with other work, wall time
# measures the neighbours as much as the scan
CLOCK = time.process_time
sys.path.insert(0, str(REPO))

from converter.core.project import Project  # noqa: E402
from converter.formats.readers import read_items  # noqa: E402
from converter.scan.scanner import EVALUATORS, Scanner, ScanSummary  # noqa: E402


def baseline_lines(shared: Path) -> Iterator[bytes]:
    archives = sorted((shared / "real-logs" / "splunk-attack-data").glob("baseline_*.tgz"))
    if not archives:
        raise SystemExit(f"no baseline_*.tgz under {shared}/real-logs/splunk-attack-data")
    for archive in archives:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                stream = tar.extractfile(member)
                if stream is not None:
                    for line in stream:
                        if line.strip():
                            yield line if line.endswith(b"\n") else line + b"\n"


def build_input(shared: Path, events: int, path: Path) -> int:
    written = 0
    with path.open("wb") as out:
        while written < events:
            for line in baseline_lines(shared):
                out.write(line)
                written += 1
                if written >= events:
                    break
    return written


def decode_only(path: Path, clock: Callable[[], float] = CLOCK) -> float:
    loads = orjson.loads
    started = clock()
    count = 0
    with path.open("rb") as handle:
        for line in handle:
            loads(line)
            count += 1
    return count / (clock() - started)


def scan(path: Path, only: list[str]) -> tuple[float, ScanSummary]:
    scanner = Scanner.for_project(Project.at(REPO), only)
    scanner.clock = CLOCK
    summary = ScanSummary()
    started = CLOCK()
    for _ in scanner.scan(read_items(path, scanner.wants), summary, only_matches=True):
        pass
    return summary.events / (CLOCK() - started), summary


def eql_engines(path: Path, limit: int) -> dict[str, float]:
    """Ours and eql's PythonEngine on the same queries and ECS documents (at most `limit`)."""
    import eql
    from eql.parser import elasticsearch_syntax, ignore_missing_functions

    from converter.core.events import WindowsEvent
    from converter.execute.engines.eql import EqlEngine
    from converter.execute.ingest.ecs import stores, to_ecs

    queries = [p.read_text(encoding="utf-8") for p in sorted((REPO / "dist" / "eql").glob("*"))]
    documents = []
    for item in read_items(path, stores):
        payload = getattr(item, "payload", None)
        if isinstance(payload, WindowsEvent):
            document = to_ecs(payload)
            if document is not None:
                documents.append(document)
                if len(documents) >= limit:
                    break
    if not documents:
        raise SystemExit("no ECS documents in the input: use more --events")
    ours = [EqlEngine().compile(query) for query in queries]
    started = CLOCK()
    our_hits = sum(len(compiled.select(documents)) for compiled in ours)
    our_seconds = CLOCK() - started

    with elasticsearch_syntax, ignore_missing_functions:
        parsed = [eql.parse_query(query) for query in queries]
    hits: list[object] = []
    engine = eql.PythonEngine({"print": False})
    engine.add_output_hook(hits.append)
    for query in parsed:
        engine.add_query(query)
    started = CLOCK()
    engine.stream_events(eql.Event.from_data(document) for document in documents)
    their_seconds = CLOCK() - started
    return {
        "documents": len(documents),
        "ours": len(documents) / our_seconds,
        "ours_hits": our_hits,
        "python_engine": len(documents) / their_seconds,
        "python_engine_hits": len(hits),
    }


def _tree_rss(root: int) -> int:
    """Resident kB of `root` and every process below it (threads counted once)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    tree, added = {root}, True
    while added:
        below = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= below
        added = bool(below)
    total = 0
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def cli_run(path: Path, jobs: int | None = None) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS in MB of all its processes) of `python -m converter
    scan` on `path`, with `jobs` processes (default: every core)."""
    command = [sys.executable, "-m", "converter", "scan", "--project", str(REPO), "--no-progress"]
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    child = subprocess.Popen(
        [*command, str(path)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = 0
    while child.poll() is None:
        peak = max(peak, _tree_rss(child.pid))
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    stderr = child.stderr.read().decode() if child.stderr is not None else ""
    if child.returncode != 0:
        raise SystemExit(f"certdetect scan failed ({child.returncode}):\n{stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return seconds, cpu, peak / 1024


def cli_run_sigma(path: Path) -> float:
    """Wall seconds of `python -m converter scan --evaluator sigma` (every core) on `path`."""
    command = [sys.executable, "-m", "converter", "scan", "--project", str(REPO), "--no-progress"]
    started = time.perf_counter()
    subprocess.run(
        [*command, "--evaluator", "sigma", str(path)], cwd=REPO, capture_output=True, check=True
    )
    return time.perf_counter() - started


def startup(path: Path, only: list[str], cache: str | None, runs: int = 5) -> float:
    """Best wall seconds of `python -m converter scan` on the input's first event (imports,
    loading and compiling dist/, reading, evaluating, printing): the wait for a first result.
    `cache`: the compiled-query cache folder (None: the user's, as it is)."""
    event = path.with_name("one.jsonl")
    with path.open("rb") as source:
        event.write_bytes(source.readline())
    flags = [flag for name in only for flag in ("--evaluator", name)]
    command = [sys.executable, "-m", "converter", "scan", "--project", str(REPO), "--no-progress"]
    environment = dict(os.environ)
    best = float("inf")
    for _ in range(runs):
        if cache is not None:
            shutil.rmtree(cache, ignore_errors=True)
            environment["CERTDETECT_CACHE_DIR"] = cache
        started = time.perf_counter()
        subprocess.run(
            [*command, *flags, str(event)],
            cwd=REPO,
            capture_output=True,
            check=True,
            env=environment,
        )
        best = min(best, time.perf_counter() - started)
    return best


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="input size (lines)")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument(
        "--eql-documents", type=int, default=100_000, help="ECS documents for the EQL comparison"
    )
    parser.add_argument("--skip-cli", action="store_true", help="skip the child-process runs")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="certdetect-bench-") as folder:
        path = Path(folder) / "baseline.jsonl"
        events = build_input(args.shared, args.events, path)
        size = path.stat().st_size / 2**20
        print(f"input: {events:,} events, {size:,.0f} MiB ({path.name})")
        print(f"machine: {machine()}")
        print()
        decode = decode_only(path)
        rows = [("decode only (orjson)", f"{decode:,.0f}", "", "1.00")]
        for name in EVALUATORS:
            rate, summary = scan(path, [name])
            stats = summary.evaluators[name]
            rows.append(
                (
                    f"{name} alone: end to end / evaluation",
                    f"{rate:,.0f}",
                    f"{stats.rate:,.0f}",
                    f"{rate / decode:.2f} / {stats.rate / decode:.2f}",
                )
            )
            matches = sum(stats.matches.values())
            rows[-1] = (*rows[-1][:3], rows[-1][3] + f" ({matches} matches)")
        rate, summary = scan(path, list(EVALUATORS))
        rows.append(
            ("all evaluators (certdetect scan)", f"{rate:,.0f}", "", f"{rate / decode:.2f}")
        )
        print("Rates are events per CPU second of this process (time.process_time).")
        print()
        print("| measurement | events/s | evaluation events/s | ratio to decode |")
        print("| --- | ---: | ---: | --- |")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        print()
        compared = eql_engines(path, args.eql_documents)
        print(f"EQL on {compared['documents']:,} ECS documents, all dist/eql queries:")
        print(
            f"- this project's engine: {compared['ours']:,.0f} documents/s "
            f"({compared['ours_hits']} matches)"
        )
        print(
            f"- eql {__import__('eql').__version__} PythonEngine: "
            f"{compared['python_engine']:,.0f} documents/s "
            f"({compared['python_engine_hits']} matches)"
        )
        print(f"- ratio: {compared['ours'] / compared['python_engine']:.1f}x")
        if not args.skip_cli:
            print()
            wall_decode = decode_only(path, time.perf_counter)
            print(f"decode only (orjson), wall: {wall_decode:,.0f} events/s")
            quarter = Path(folder) / "quarter.jsonl"
            with path.open("rb") as source, quarter.open("wb") as out:
                for number, line in enumerate(source):
                    if number >= events // 4:
                        break
                    out.write(line)
            for label, target, count in (("1/4", quarter, events // 4), ("all", path, events)):
                for jobs in (1, None):
                    seconds, cpu, peak = cli_run(target, jobs)
                    wall_ratio, cpu_ratio = count / seconds / wall_decode, count / cpu / decode
                    print(
                        f"certdetect scan --jobs {jobs or 'default'}, {label} of the input "
                        f"({count:,} events): {seconds:.1f} s wall ({wall_ratio:.2f}x decode, "
                        f"wall), {cpu:.1f} s CPU ({cpu_ratio:.2f}x decode, CPU), peak RSS of all "
                        f"its processes {peak:,.0f} MB"
                    )
            seconds_sigma = cli_run_sigma(path)
            print(
                f"certdetect scan --evaluator sigma, all of the input: {seconds_sigma:.1f} s wall "
                f"({events / seconds_sigma / wall_decode:.2f}x decode, wall)"
            )
            cold = str(Path(folder) / "empty-cache")
            for label, only in (("reference alone", ["sigma"]), ("all evaluators", [])):
                warm_start = startup(path, only, None)
                cold_start = startup(path, only, cold)
                print(
                    f"startup, {label} (best of 5, one event): {warm_start:.2f} s wall with the "
                    f"compiled-query cache, {cold_start:.2f} s with an empty one"
                )
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"benchmark process peak RSS: {own:,.0f} MB")


if __name__ == "__main__":
    main()
