"""`dist/manifest.json` as typed records: one function makes it, one writer, one reader.

`manifest_of` makes the records from a build, `render_manifest` writes them as the bytes of
`dist/manifest.json`, `read_manifest` parses and checks the file; `certdetect scan` and the tests
read the manifest through it, so its shape is declared here only. The shape, key order included
(dist/ is committed, and `certdetect build --check` compares it byte for byte):

    {"version": "0.1.0",
     "environment": {"name", "description", "pipelines": {target: path}},  # overlay builds only
     "rules": [{"id", "title", "level", "tags", "source", "sha256",
                "targets": {target: {"status", "path", "cases": {"checked", "matched"},
                                     "reason"}}}]}

A file that does not have this shape is reported as one line naming the key, not a traceback:
the manifest is read from a checkout, where a merge or a hand edit can have broken it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, NoReturn

from converter import __version__
from converter.core.errors import InputError
from converter.core.status import Status

if TYPE_CHECKING:  # the reader needs no build machinery: `scan` imports this module
    from converter.verify.build import BuildResult, Outcome

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class CaseTally:
    checked: int  # how many cases the query ran on; 0 when it was not executed
    matched: tuple[str, ...]  # ids of the cases it matched, in case order


@dataclass(frozen=True)
class TargetEntry:
    status: Status
    path: str | None  # the query inside dist/; only a verified or converted query has one
    cases: CaseTally
    reason: str | None  # why the target is not verified; None when it is


@dataclass(frozen=True)
class RuleEntry:
    id: str
    title: str
    level: str
    tags: tuple[str, ...]
    source: str  # the rule file, relative to the project root
    sha256: str  # of the rule file's text
    targets: Mapping[str, TargetEntry]  # target name -> entry, in the build's target order


@dataclass(frozen=True)
class EnvironmentEntry:
    """The overlay a tree was built for (`converter.environment`); stock builds have none."""

    name: str
    description: str | None
    pipelines: Mapping[str, str]  # target name -> the overlay pipeline inside dist/


@dataclass(frozen=True)
class Manifest:
    version: str  # certdetect's version that built the tree
    rules: tuple[RuleEntry, ...]  # in the build's (rule path) order
    environment: EnvironmentEntry | None = None


def artifact_path(target_name: str, stem: str, extension: str) -> str:
    return f"{target_name}/{stem}{extension}"


def _target_entry(outcome: Outcome, path: str) -> TargetEntry:
    has_query = outcome.query is not None
    return TargetEntry(
        status=outcome.status,
        path=path if has_query and outcome.status in (Status.VERIFIED, Status.CONVERTED) else None,
        cases=CaseTally(checked=outcome.checked, matched=outcome.matched),
        reason=None if outcome.status == Status.VERIFIED else outcome.reason,
    )


def manifest_of(build: BuildResult) -> Manifest:
    """The manifest of a build; each entry's `path` is where `render` writes that query."""
    rules = []
    for result in build.rules:
        rule = result.rule
        targets = {
            target.name: _target_entry(
                outcome, artifact_path(target.name, rule.stem, target.extension)
            )
            for target in build.targets
            if (outcome := result.targets.get(target.name)) is not None
        }
        rules.append(
            RuleEntry(
                id=rule.id,
                title=rule.title,
                level=rule.level,
                tags=tuple(rule.tags),
                source=rule.path,
                sha256=rule.sha256,
                targets=targets,
            )
        )
    environment = None
    if build.environment is not None:
        # the environment describes its own block; the reader types it
        block = build.environment.manifest()
        environment = _Reader(f"dist/{MANIFEST_NAME}").environment(block, "environment")
    return Manifest(version=__version__, rules=tuple(rules), environment=environment)


# --- writer ----------------------------------------------------------------------------------


def _target_json(entry: TargetEntry) -> dict[str, object]:
    return {
        "status": entry.status.value,
        "path": entry.path,
        "cases": {"checked": entry.cases.checked, "matched": list(entry.cases.matched)},
        "reason": entry.reason,
    }


def _rule_json(entry: RuleEntry) -> dict[str, object]:
    return {
        "id": entry.id,
        "title": entry.title,
        "level": entry.level,
        "tags": list(entry.tags),
        "source": entry.source,
        "sha256": entry.sha256,
        "targets": {name: _target_json(target) for name, target in entry.targets.items()},
    }


def render_manifest(manifest: Manifest) -> bytes:
    """The bytes of `dist/manifest.json`: deterministic, no timestamps."""
    data: dict[str, object] = {"version": manifest.version}
    if manifest.environment is not None:
        data["environment"] = {
            "name": manifest.environment.name,
            "description": manifest.environment.description,
            "pipelines": dict(manifest.environment.pipelines),
        }
    data["rules"] = [_rule_json(rule) for rule in manifest.rules]
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# --- reader ----------------------------------------------------------------------------------

_STATUSES = tuple(status.value for status in Status)


def read_manifest(path: Path, shown: str | None = None) -> Manifest:
    """The manifest at `path` (shown in errors as `shown`), checked against its shape."""
    name = shown or str(path)
    if not path.is_file():
        raise InputError(name, "no built artifacts; run `certdetect build` first")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(name, f"cannot read the manifest: {error}") from None
    return parse_manifest(text, name)


def parse_manifest(text: str, shown: str = f"dist/{MANIFEST_NAME}") -> Manifest:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        message = f"not valid JSON ({error.msg}); run `certdetect build` to write it again"
        raise InputError(shown, message, error.lineno) from None
    return _Reader(shown).manifest(data)


@dataclass(frozen=True)
class _Reader:
    """Checks one decoded manifest; `where` is the key path to a value, e.g. `rules[2].id`."""

    shown: str

    def fail(self, where: str | None, message: str, line: int | None = None) -> NoReturn:
        at = f"{where}: " if where else ""
        hint = "; run `certdetect build` to write it again"
        raise InputError(self.shown, f"{at}{message}{hint}", line)

    def object(
        self, value: Any, where: str | None, keys: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        # an unknown key is refused too: writing the records back would drop it
        if not isinstance(value, dict):
            self.fail(where, "must be a JSON object")
        for key in keys:
            if key not in value:
                self.fail(where, f"missing key '{key}'")
        for key in value:
            if key not in keys and key not in optional:
                self.fail(where, f"unknown key '{key}'")
        return value

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            self.fail(where, "must be a string")
        return value

    def optional_text(self, value: Any, where: str) -> str | None:
        return None if value is None else self.text(value, where)

    def texts(self, value: Any, where: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            self.fail(where, "must be a list of strings")
        return tuple(self.text(item, f"{where}[{index}]") for index, item in enumerate(value))

    def count(self, value: Any, where: str) -> int:
        # bool is an int in Python, not in the manifest
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            self.fail(where, "must be a whole number")
        return value

    def dist_path(self, value: Any, where: str) -> str:
        # scan reads the file at this path: it must stay inside dist/
        path = self.text(value, where)
        pure = PurePosixPath(path)
        if not path or pure.is_absolute() or ".." in pure.parts or "\\" in path:
            self.fail(where, f"'{path}' is not a path inside dist/")
        return path

    def status(self, value: Any, where: str) -> Status:
        word = self.text(value, where)
        if word not in _STATUSES:
            self.fail(where, f"'{word}' is not a status ({', '.join(_STATUSES)})")
        return Status(word)

    def target(self, value: Any, where: str) -> TargetEntry:
        data = self.object(value, where, ("status", "path", "cases", "reason"))
        cases = self.object(data["cases"], f"{where}.cases", ("checked", "matched"))
        path = data["path"]
        return TargetEntry(
            status=self.status(data["status"], f"{where}.status"),
            path=None if path is None else self.dist_path(path, f"{where}.path"),
            cases=CaseTally(
                checked=self.count(cases["checked"], f"{where}.cases.checked"),
                matched=self.texts(cases["matched"], f"{where}.cases.matched"),
            ),
            reason=self.optional_text(data["reason"], f"{where}.reason"),
        )

    def rule(self, value: Any, where: str) -> RuleEntry:
        keys = ("id", "title", "level", "tags", "source", "sha256", "targets")
        data = self.object(value, where, keys)
        targets = data["targets"]
        if not isinstance(targets, dict):
            self.fail(f"{where}.targets", "must be a JSON object")
        return RuleEntry(
            id=self.text(data["id"], f"{where}.id"),
            title=self.text(data["title"], f"{where}.title"),
            level=self.text(data["level"], f"{where}.level"),
            tags=self.texts(data["tags"], f"{where}.tags"),
            source=self.text(data["source"], f"{where}.source"),
            sha256=self.text(data["sha256"], f"{where}.sha256"),
            targets={
                name: self.target(entry, f"{where}.targets.{name}")
                for name, entry in targets.items()
            },
        )

    def environment(self, value: Any, where: str) -> EnvironmentEntry:
        data = self.object(value, where, ("name", "description", "pipelines"))
        pipelines = data["pipelines"]
        if not isinstance(pipelines, dict):
            self.fail(f"{where}.pipelines", "must be a JSON object")
        return EnvironmentEntry(
            name=self.text(data["name"], f"{where}.name"),
            description=self.optional_text(data["description"], f"{where}.description"),
            pipelines={
                target: self.dist_path(path, f"{where}.pipelines.{target}")
                for target, path in pipelines.items()
            },
        )

    def manifest(self, value: Any) -> Manifest:
        data = self.object(value, None, ("version", "rules"), optional=("environment",))
        rules = data["rules"]
        if not isinstance(rules, list):
            self.fail("rules", "must be a list")
        return Manifest(
            version=self.text(data["version"], "version"),
            rules=tuple(self.rule(rule, f"rules[{index}]") for index, rule in enumerate(rules)),
            environment=(
                self.environment(data["environment"], "environment")
                if "environment" in data
                else None
            ),
        )
