"""The Sigma rule schema, checked with line numbers.

pySigma accepts some documents the specification's JSON schema
(sigma-specification `json-schema/sigma-detection-rule-schema.json`, V2.0.0) rejects: a title of
any length, duplicate tags or references, tags outside `namespace.name`, a condition list, a
one-character false positive. `certdetect check` reports those here, each on its own line, so a
contributor sees every schema problem at once instead of pySigma's first exception.
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Callable
from typing import Any

from .findings import Finding, YamlLines

CHECK = "schema"
TAG = re.compile(r"[a-z0-9_-]+\.[a-z0-9._-]+")
DATE = re.compile(r"\d{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])")
STATUSES = ("stable", "test", "experimental", "deprecated", "unsupported")
LEVELS = ("informational", "low", "medium", "high", "critical")
RELATION_TYPES = ("derived", "obsolete", "merged", "renamed", "similar")
LOGSOURCE_KEYS = ("category", "product", "service", "definition")


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _is_date(value: Any) -> bool:
    # PyYAML reads an unquoted 2026-11-28 as a date; both spellings are the schema's string
    if isinstance(value, datetime.date):
        return True
    return isinstance(value, str) and bool(DATE.fullmatch(value))


def _string(max_length: int | None = None) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be a string"
        if max_length is not None and len(value) > max_length:
            return f"is {len(value)} characters long, over the limit of {max_length}"
        return None

    return check


def _one_of(allowed: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value in allowed else f"must be one of {', '.join(allowed)}"

    return check


def _date(value: Any) -> str | None:
    return None if _is_date(value) else "must be a date written YYYY-MM-DD"


def _uuid(value: Any) -> str | None:
    return None if _is_uuid(value) else "must be a UUID (certdetect new makes one)"


SCALARS: dict[str, Callable[[Any], str | None]] = {
    "title": _string(256),
    "id": _uuid,
    "name": _string(256),
    "taxonomy": _string(256),
    "status": _one_of(STATUSES),
    "description": _string(65535),
    "license": _string(),
    "author": _string(),
    "date": _date,
    "modified": _date,
    "level": _one_of(LEVELS),
}


def check_schema(data: dict[str, Any], lines: YamlLines, path: str) -> list[Finding]:
    findings: list[Finding] = []

    def report(message: str, *where: str | int) -> None:
        findings.append(Finding(path, lines.line(*where) or 1, CHECK, message))

    for key in ("title", "logsource", "detection"):
        if key not in data:
            report(f"missing required key {key!r}")
    for key, check in SCALARS.items():
        if key in data:
            problem = check(data[key])
            if problem:
                report(f"{key} {problem}", key)
    for key in ("references", "fields", "tags", "scope"):
        if key in data:
            _string_list(data[key], key, report, unique=key != "scope")
    for index, tag in enumerate(data.get("tags") or []):
        if isinstance(tag, str) and not TAG.fullmatch(tag):
            message = f"tag {tag!r} must be lowercase namespace.name (e.g. attack.t1587.003)"
            report(message, "tags", index)
    if "falsepositives" in data:
        _falsepositives(data["falsepositives"], report)
    if "related" in data:
        _related(data["related"], report)
    if "logsource" in data:
        _logsource(data["logsource"], report)
    if "detection" in data:
        _detection(data["detection"], report)
    return findings


Report = Callable[..., None]


def _string_list(value: Any, key: str, report: Report, unique: bool = True) -> None:
    if not isinstance(value, list):
        report(f"{key} must be a list of strings", key)
        return
    seen: set[str] = set()
    for index, item in enumerate(value):
        if not isinstance(item, str):
            report(f"{key} item {index + 1} must be a string", key, index)
        elif unique and item in seen:
            report(f"{key} lists {item!r} twice", key, index)
        else:
            seen.add(item)


def _falsepositives(value: Any, report: Report) -> None:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        report("falsepositives must be a list of strings", "falsepositives")
        return
    seen: set[str] = set()
    for index, item in enumerate(items):
        where = ("falsepositives", index) if isinstance(value, list) else ("falsepositives",)
        if not isinstance(item, str) or len(item) < 2:
            report("a false positive must be a string of at least 2 characters", *where)
        elif item in seen:
            report(f"falsepositives lists {item!r} twice", *where)
        else:
            seen.add(item)


def _related(value: Any, report: Report) -> None:
    if not isinstance(value, list):
        report("related must be a list of {id, type}", "related")
        return
    for index, item in enumerate(value):
        if not isinstance(item, dict) or "id" not in item or "type" not in item:
            report("a related entry needs id and type", "related", index)
            continue
        if not _is_uuid(item["id"]):
            report("related id must be a UUID", "related", index, "id")
        if item["type"] not in RELATION_TYPES:
            message = f"related type must be one of {', '.join(RELATION_TYPES)}"
            report(message, "related", index, "type")


def _logsource(value: Any, report: Report) -> None:
    if not isinstance(value, dict):
        report("logsource must be a mapping", "logsource")
        return
    for key in LOGSOURCE_KEYS:
        if key in value and not isinstance(value[key], str):
            report(f"logsource {key} must be a string", "logsource", key)


def _detection(value: Any, report: Report) -> None:
    if not isinstance(value, dict):
        report("detection must be a mapping", "detection")
        return
    if "condition" not in value:
        report("detection needs a condition", "detection")
    elif not isinstance(value["condition"], str):
        report("condition must be one string (combine with and/or)", "detection", "condition")
    for name, item in value.items():
        if name in ("condition", "timeframe"):
            continue
        if not isinstance(item, (dict, list)):
            report(f"search identifier {name!r} must be a mapping or a list", "detection", name)
