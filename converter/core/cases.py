"""Recorded sample cases: one raw event, the rules that must match it, and where it comes from.

A case is a JSON file under `cases/<rule file stem>/<name>.json`:

    {"title": "...",
     "expect": ["<rule id>", ...],            # exactly the rules that must match; [] = none
     "origin": {"kind": "written", "from": "<documented command or scenario>", "command": "..."}
            or {"kind": "recorded", "source": "<dataset @ commit, path>", "licence": "..."},
     "beyond_seed": "<why the seed detection misses it>",   # optional, see oracle/seed.yml
     "event": {"Event": {"System": {...}, "EventData": {...}}}}   # EVTX JSON layout
            or {"audit": ["type=SYSCALL msg=audit(...): ...", ...]}  # one audit event's lines
            or {"zeek": "x509", "row": {...}}                        # one Zeek JSON-writer row

The folder names the rule the case was written for; a case there that does not expect that
rule is its look-alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from converter.core.errors import InputError
from converter.core.events import EventFormatError, RawEvent, parse_raw_event
from converter.core.project import Project
from converter.core.textfiles import load_json, read_text, shown_path, within

ORIGIN_KINDS = {"written": ("from",), "recorded": ("source", "licence")}


@dataclass(frozen=True)
class Case:
    id: str  # "<folder>/<name>"
    path: str
    title: str
    expect: frozenset[str]
    origin: dict[str, Any]
    record: dict[str, Any]
    event: RawEvent
    beyond_seed: str | None = None

    @property
    def folder(self) -> str:
        return self.id.split("/", 1)[0]


def _line_of(text: str, needle: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return None


def load_case(path: Path, shown: str, case_id: str) -> Case:
    data = load_json(read_text(path, shown), shown)
    if not isinstance(data, dict):
        raise InputError(shown, "a case must be a JSON object", 1)
    unknown = set(data) - {"title", "expect", "origin", "event", "beyond_seed"}
    if unknown:
        raise InputError(shown, f"unknown case keys: {', '.join(sorted(unknown))}")
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise InputError(shown, 'case needs a "title" string')
    expect = data.get("expect")
    if not isinstance(expect, list) or not all(isinstance(item, str) for item in expect):
        raise InputError(shown, '"expect" must be a list of rule ids ([] for none)')
    origin = data.get("origin")
    if not isinstance(origin, dict) or origin.get("kind") not in ORIGIN_KINDS:
        raise InputError(shown, '"origin" needs "kind": "written" or "recorded"')
    for key in ORIGIN_KINDS[origin["kind"]]:
        if not isinstance(origin.get(key), str) or not origin[key].strip():
            raise InputError(shown, f'a {origin["kind"]} case\'s origin needs "{key}"')
    beyond_seed = data.get("beyond_seed")
    if beyond_seed is not None and (not isinstance(beyond_seed, str) or not beyond_seed.strip()):
        raise InputError(shown, '"beyond_seed" must say why the seed detection misses the case')
    record = data.get("event")
    try:
        event = parse_raw_event(record)
    except EventFormatError as error:
        raise InputError(shown, f'"event": {error}') from None
    return Case(
        id=case_id,
        path=shown,
        title=title,
        expect=frozenset(expect),
        origin=origin,
        record=record,  # type: ignore[arg-type]
        event=event,
        beyond_seed=beyond_seed,
    )


def case_paths(project: Project) -> list[Path]:
    if not project.cases_dir.is_dir():
        return []
    return sorted(project.cases_dir.rglob("*.json"))


def load_cases(project: Project, known_rule_ids: Iterable[str]) -> list[Case]:
    known = set(known_rule_ids)
    cases = []
    for path in case_paths(project):
        shown = shown_path(path, project.root)
        within(path, project.root, shown)
        case_id = path.relative_to(project.cases_dir).with_suffix("").as_posix()
        case = load_case(path, shown, case_id)
        missing = sorted(case.expect - known)
        if missing:
            raise InputError(
                shown,
                f"expects unknown rule id {missing[0]}; use the id of a rule in sigma/",
                _line_of(read_text(path, shown), missing[0]),
            )
        cases.append(case)
    return cases
