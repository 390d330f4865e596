"""The target specs, and the "How to add a target" guide (`converter.core.targets`) followed once.

The toy target below is declared here and nowhere else: a pySigma backend writing Python
expressions over an event's fields, an ingest model keeping a Sysmon event's EventData as they
are, and an engine evaluating the expressions. Passing its spec in `targets=` is all the build,
the report and `dist/` rendering need.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import ClassVar

import pytest
from sigma.conditions import ConditionAND, ConditionNOT, ConditionOR
from sigma.conversion.base import TextQueryBackend

from converter.core.events import WindowsEvent
from converter.core.project import Project
from converter.core.status import Status
from converter.core.targets import TARGET_NAMES, TARGETS, Ingest, TargetSpec, resolve
from converter.execute.engines.base import QueryError
from converter.publish.artifacts import render
from converter.publish.report import matrix
from converter.verify.build import run_build

SYSMON = "Microsoft-Windows-Sysmon/Operational"

# --- step 1: the backend -------------------------------------------------------------------------


class ToyBackend(TextQueryBackend):
    """Python expressions over the event's fields, e.g. `TargetFilename.endswith(".cer")`.

    Case-sensitive on purpose (Sigma is not), and without regular expressions: the build must
    notice the first and mark rules needing the second unsupported.
    """

    name: ClassVar[str] = "toy"
    formats: ClassVar[dict[str, str]] = {"default": "Python expressions"}
    requires_pipeline: ClassVar[bool] = False
    precedence: ClassVar[tuple[type, type, type]] = (ConditionNOT, ConditionAND, ConditionOR)
    group_expression: ClassVar[str] = "({expr})"
    or_token: ClassVar[str] = "or"
    and_token: ClassVar[str] = "and"
    not_token: ClassVar[str] = "not"
    eq_token: ClassVar[str] = " == "
    str_quote: ClassVar[str] = '"'
    escape_char: ClassVar[str] = "\\"
    add_escaped: ClassVar[str] = "\\"  # a backslash in a value is one in the Python string
    wildcard_multi: ClassVar[str] = "*"
    wildcard_single: ClassVar[str] = "?"
    startswith_expression: ClassVar[str] = "{field}.startswith({value})"
    endswith_expression: ClassVar[str] = "{field}.endswith({value})"
    contains_expression: ClassVar[str] = "{value} in {field}"


# --- step 3: the ingest model --------------------------------------------------------------------


def stores(channel: str, event_id: int) -> bool:
    return channel == SYSMON


def to_toy(event: WindowsEvent) -> dict[str, str] | None:
    return dict(event.data) if stores(event.channel, event.event_id) else None


# --- step 4: the engine --------------------------------------------------------------------------


class ToyQuery:
    def __init__(self, query: str) -> None:
        self.query = query
        try:
            self._code = compile(query, "<toy query>", "eval")
        except SyntaxError as error:
            raise QueryError(f"not a Python expression: {error.msg}") from None

    def select(self, documents: Sequence[dict[str, str]]) -> list[int]:
        # a field the event lacks is empty text, so it matches no value
        return [
            index
            for index, document in enumerate(documents)
            if eval(self._code, {"__builtins__": {}}, defaultdict(str, document))  # noqa: S307
        ]


class ToyEngine:
    language = "toy"

    def compile(self, query: str) -> ToyQuery:
        return ToyQuery(query)


def toy_engine(overlay: object | None) -> ToyEngine:
    return ToyEngine()


# --- step 7: the declaration ---------------------------------------------------------------------

TOY = TargetSpec(
    name="toy",
    title="Toy Python expressions",
    backend=f"{__name__}:ToyBackend",
    sigma_cli_backend="toy",
    pipelines=(),
    extension=".py",
    engine=f"{__name__}:toy_engine",
    ingest=(Ingest("converter.core.events:WindowsEvent", f"{__name__}:to_toy"),),
    stores=f"{__name__}:stores",
)

# --- a project of two rules and their cases ------------------------------------------------------

STAGING_ID = "0b5f1f4e-7d0b-4d8e-9a61-2f0f8f9b6c11"
REGEX_ID = "5c2a9d77-3e4b-4f0a-8c1d-6a7b8e9f0a12"


def _rule(rule_id: str, stem: str, detection: str) -> str:
    return f"""title: Toy {stem}
id: {rule_id}
status: experimental
description: A rule of the toy target's test project.
author: certdetect
date: 2026-12-06
tags:
    - attack.resource-development
    - attack.t1587.003
logsource:
    category: file_event
    product: windows
detection:
{detection}
    condition: selection
level: low
"""


def _case(expect: list[str], filename: str) -> str:
    event = {
        "Event": {
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                "EventID": 11,
                "TimeCreated": {"#attributes": {"SystemTime": "2026-12-06T04:00:00.000Z"}},
                "EventRecordID": 1,
                "Channel": SYSMON,
                "Computer": "wks",
            },
            "EventData": {"Image": "C:\\Windows\\explorer.exe", "TargetFilename": filename},
        }
    }
    case = {
        "title": f"a file {filename}",
        "expect": expect,
        "origin": {"kind": "written", "from": "tests/test_targets.py"},
        "event": event,
    }
    return json.dumps(case, indent=2)


@pytest.fixture
def toy_project(tmp_path: Path) -> Project:
    rules = tmp_path / "sigma" / "windows" / "file_event"
    rules.mkdir(parents=True)
    (rules / "file_event_win_toy_staging.yml").write_text(
        _rule(
            STAGING_ID,
            "staging",
            "    selection:\n        TargetFilename|endswith: '.cer'\n"
            "        TargetFilename|contains: '\\Temp\\'",
        )
    )
    (rules / "file_event_win_toy_regex.yml").write_text(
        _rule(REGEX_ID, "regex", "    selection:\n        TargetFilename|re: '\\.p(fx|12)$'")
    )
    for stem, name, expect, filename in (
        ("file_event_win_toy_staging", "temp_cer", [STAGING_ID], "C:\\Temp\\root.cer"),
        ("file_event_win_toy_staging", "documents_cer", [], "C:\\Users\\a\\root.cer"),
        ("file_event_win_toy_regex", "temp_pfx", [REGEX_ID], "C:\\Temp\\key.pfx"),
    ):
        folder = tmp_path / "cases" / stem
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.json").write_text(_case(expect, filename))
    return Project.at(tmp_path)


# --- step 8: what the guide promises -------------------------------------------------------------


def test_a_new_target_is_converted_verified_and_rendered_from_its_spec_alone(
    toy_project: Project,
) -> None:
    build = run_build(toy_project, targets=(TOY,))
    assert build.ok, build.failures
    staging, regex = (
        next(r for r in build.rules if r.rule.id == rule_id) for rule_id in (STAGING_ID, REGEX_ID)
    )
    assert staging.targets["toy"].status == Status.VERIFIED
    assert staging.targets["toy"].query == (
        'TargetFilename.endswith(".cer") and "\\\\Temp\\\\" in TargetFilename'
    )
    assert staging.targets["toy"].matched == ("file_event_win_toy_staging/temp_cer",)
    assert regex.targets["toy"].status == Status.UNSUPPORTED
    assert regex.targets["toy"].reason

    files = render(build)
    assert files["toy/file_event_win_toy_staging.py"] == (
        staging.targets["toy"].query.encode() + b"\n"
    )
    assert not any(name.startswith("toy/file_event_win_toy_regex") for name in files)
    manifest = json.loads(files["manifest.json"])
    entries = {rule["id"]: rule["targets"] for rule in manifest["rules"]}
    assert entries[STAGING_ID] == {
        "toy": {
            "status": Status.VERIFIED,
            "path": "toy/file_event_win_toy_staging.py",
            "cases": {"checked": 3, "matched": ["file_event_win_toy_staging/temp_cer"]},
            "reason": None,
        }
    }
    assert entries[REGEX_ID]["toy"]["status"] == Status.UNSUPPORTED
    assert entries[REGEX_ID]["toy"]["path"] is None
    assert matrix(build).splitlines()[0].split() == ["rule", "level", "sigma", "toy"]
    assert "toy" not in TARGET_NAMES  # registered nowhere


def test_a_target_whose_engine_disagrees_with_sigma_fails_the_build(
    toy_project: Project,
) -> None:
    # The toy backend is case-sensitive; Sigma matches `.CER` for `.cer`.
    case = toy_project.cases_dir / "file_event_win_toy_staging" / "temp_cer.json"
    case.write_text(case.read_text().replace("root.cer", "ROOT.CER"))
    build = run_build(toy_project, targets=(TOY,))
    staging = next(r for r in build.rules if r.rule.id == STAGING_ID)
    assert staging.reference.status == Status.VERIFIED
    assert staging.targets["toy"].status == Status.FAILED
    assert any("[toy]" in line and "temp_cer" in line for line in build.failures)


def test_a_target_without_an_engine_is_converted_not_verified(toy_project: Project) -> None:
    build = run_build(toy_project, targets=(replace(TOY, engine=None),))
    staging = next(r for r in build.rules if r.rule.id == STAGING_ID)
    assert staging.targets["toy"].status == Status.CONVERTED
    assert staging.targets["toy"].reason == "no engine executes this target"
    assert "toy/file_event_win_toy_staging.py" in render(build)


# --- the stock specs -----------------------------------------------------------------------------


def _references(target: TargetSpec) -> list[str]:
    refs = [target.backend, *target.deployers]
    refs += [ref for item in target.ingest for ref in (item.event, item.model)]
    for optional in (
        target.engine,
        target.stores,
        target.overlay,
        target.native,
        target.document_fields,
        target.state_fields,
    ):
        if optional is not None:
            refs.append(optional)
    return refs


@pytest.mark.parametrize("target", TARGETS, ids=TARGET_NAMES)
def test_every_import_path_of_a_stock_target_resolves(target: TargetSpec) -> None:
    for ref in _references(target):
        assert resolve(ref) is not None, ref
    assert isinstance(resolve(target.backend), type)
    assert all(isinstance(kind, type) for kind in target.ingest_models())


def test_the_stock_targets_have_one_name_each_and_one_seed_oracle() -> None:
    assert TARGET_NAMES == ("eql", "spl", "kql")
    assert [t.sigma_cli_backend for t in TARGETS] == ["eql", "splunk", "kusto"]
    assert [t.name for t in TARGETS if t.seed_oracle] == ["eql"]
    assert len({t.extension for t in TARGETS}) == len(TARGETS)


def test_the_guide_explains_every_spec_field() -> None:
    import converter.core.targets as module

    guide = module.__doc__ or ""
    missing = [f.name for f in fields(TargetSpec) if f"`{f.name}`" not in guide]
    assert missing == []
