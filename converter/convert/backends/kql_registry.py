"""Sysmon registry values in Defender XDR's DeviceRegistryEvents columns (docs/converter-defects.md,
"KQL registry").

Sysmon writes one path, `TargetObject`: the key for key events, the key and the value name for
value events. Defender's `DeviceRegistryEvents` page ("RegistryKey: registry key that the
recorded action was applied to", "RegistryValueName: name of the registry value") keeps them
apart, and the default value has the empty name, where Sysmon writes `(Default)`. The certdetect
Defender model (`converter.execute.ingest.defender`) splits at the last backslash, so a value
name never holds one; a Sigma test on `TargetObject` is therefore a test on
`RegistryKey + "\\" + RegistryValueName` for value events, on `RegistryKey` for created and
deleted keys and on `PreviousRegistryKey` for renamed ones (Sysmon 14's TargetObject is the old
name). `Details` (`RegistryValueData`) holds DWORD and QWORD data as decimal text.

Where the value's last backslash is the boundary for certain, the test stays on the two columns
(Defender can use their indexes); where a wildcard could span or match the boundary, or the
value ends with `\\` (which would read as the default value's empty name), it is tested on
`SYSMON_PATH`, the path Sysmon writes, rebuilt with Kusto's `strcat` and `iff`
(learn.microsoft.com/kusto/query/strcat-function, iff-function).

Each function takes `test(field, value)`: the backend's own conversion of one plain comparison,
which never splits again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sigma.types import SigmaString, SpecialChars

from converter.convert.backends.refusals import UnsupportedShape
from converter.convert.backends.strings import kql_string
from converter.execute.ingest.defender import registry_value

Test = Callable[[str, SigmaString], str]

REGISTRY_CATEGORIES = frozenset(
    {"registry_set", "registry_add", "registry_delete", "registry_event"}
)
DEFAULT_NAME = "(default)"  # Sysmon's name of the default value, compared case-insensitively
# A value event's TargetObject as Sysmon writes it: key, backslash, value name or "(Default)".
SYSMON_PATH = (
    'strcat(RegistryKey, "\\\\", iff(isempty(RegistryValueName), "(Default)", RegistryValueName))'
)
_TYPED_DATA = re.compile(r"(?i)[dq]word \(|binary data")


def target_object_test(value: SigmaString, category: str | None, test: Test) -> str:
    """The KQL test for `TargetObject` holding `value` (a registry log source)."""
    return _per_action(
        category,
        value_event_test(value, test),
        test("RegistryKey", value),
        test("PreviousRegistryKey", value),
    )


def target_object_regex(re2: str, category: str | None) -> str:
    """The KQL test for `TargetObject|re` (`re2` already in Kusto's dialect)."""

    def test(field: str) -> str:
        return f'{field} matches regex "{kql_string(re2)}"'

    return _per_action(
        category, test(SYSMON_PATH), test("RegistryKey"), test("PreviousRegistryKey")
    )


def _per_action(category: str | None, value_events: str, key_events: str, renamed: str) -> str:
    """Each ActionType's test: Sysmon's TargetObject is the key and value name for value events,
    the key for created and deleted keys, the old key for renamed ones."""
    if category == "registry_set":  # Sysmon 13 only: every row is RegistryValueSet
        return value_events
    return (
        '((ActionType in~ ("RegistryValueSet", "RegistryValueDeleted") and '
        f"{value_events}) or "
        f'(ActionType in~ ("RegistryKeyCreated", "RegistryKeyDeleted") and {key_events}) or '
        f'(ActionType =~ "RegistryKeyRenamed" and {renamed}))'
    )


def value_event_test(value: SigmaString, test: Test) -> str:
    """`RegistryKey + "\\" + RegistryValueName` holds `value` (the name has no backslash):
    split at the value's last backslash where that is exact, else on `SYSMON_PATH`."""
    parts = list(value.s)
    lead = bool(parts) and parts[0] is SpecialChars.WILDCARD_MULTI
    trail = len(parts) > int(lead) and parts[-1] is SpecialChars.WILDCARD_MULTI
    core = parts[int(lead) : len(parts) - int(trail)]
    boundary = _last_backslash(core)
    if boundary is None:
        if any(isinstance(part, SpecialChars) for part in core):
            return test(SYSMON_PATH, value)  # the wildcard may span key and value name
        return _without_backslash("".join(core), lead, trail, value, test)
    index, position = boundary
    last = core[index]
    assert isinstance(last, str)
    name_parts = [last[position + 1 :], *core[index + 1 :]]
    if any(isinstance(part, SpecialChars) for part in name_parts):
        return test(SYSMON_PATH, value)  # the wildcard may match the boundary backslash
    name = "".join(str(part) for part in name_parts)
    if not name and not trail:
        # a Sysmon path never ends with `\`, while the split would read the empty (default)
        # value name as the end of one
        return test(SYSMON_PATH, value)
    key = _sigma_string([SpecialChars.WILDCARD_MULTI] * lead + [*core[:index], last[:position]])
    key_test = _key_test(key, test)
    if not trail:  # equals, endswith: the value ends with the whole value name
        return _all_of([key_test, name_test("=~", name)])
    # startswith, contains: the text lies in the key, or spans the boundary
    across = _all_of([key_test, name_test("startswith", name) if name else None])
    return f"({test('RegistryKey', value)} or {across})"


def _key_test(key: SigmaString, test: Test) -> str | None:
    """The key part's test; None when it is `*` (any key)."""
    if not key.s:
        return 'RegistryKey =~ ""'
    if tuple(key.s) == (SpecialChars.WILDCARD_MULTI,):
        return None
    return test("RegistryKey", key)


def _all_of(tests: list[str | None]) -> str:
    present = [test for test in tests if test is not None]
    if not present:
        return "isnotempty(RegistryKey)"
    return present[0] if len(present) == 1 else f"({' and '.join(present)})"


def _without_backslash(text: str, lead: bool, trail: bool, value: SigmaString, test: Test) -> str:
    if lead and trail:  # contains: in the key or in the value name
        return f"({test('RegistryKey', value)} or {name_test('contains', text)})"
    if lead:  # endswith: the value name ends with it
        return name_test("endswith", text)
    if trail:  # startswith: the key starts with it
        return test("RegistryKey", value)
    return f'(RegistryKey =~ "" and {name_test("=~", text)})'  # never: a key is never empty


_HOLDS: dict[str, Callable[[str, str], bool]] = {
    "=~": lambda name, text: name == text,
    "startswith": lambda name, text: name.startswith(text),
    "endswith": lambda name, text: name.endswith(text),
    "contains": lambda name, text: text in name,
}


def name_test(operator: str, text: str) -> str:
    """`RegistryValueName <operator> text` where Sysmon names the default value `(Default)` and
    Defender stores the empty name."""
    tests = []
    if not (operator == "=~" and text.lower() == DEFAULT_NAME):
        tests.append(f'RegistryValueName {operator} "{kql_string(text)}"')
    if _HOLDS[operator](DEFAULT_NAME, text.lower()):
        tests.append('RegistryValueName == ""')
    return tests[0] if len(tests) == 1 else f"({' or '.join(tests)})"


def registry_data(value: SigmaString) -> SigmaString:
    """A `Details` value as Defender stores it: DWORD/QWORD data as decimal text."""
    if value.contains_special():
        if any(isinstance(p, str) and _TYPED_DATA.search(p) for p in value.s):
            raise UnsupportedShape(
                f"KQL: Details value {str(value)!r}: Defender stores DWORD and QWORD data as "
                "decimal text and no binary data, so a pattern over Sysmon's typed text has "
                "no equivalent"
            )
        return value
    text = str(value)
    value_type, data = registry_value(text)
    if data is None:
        raise UnsupportedShape(f"KQL: Details value {text!r}: Defender stores no binary data")
    return value if data == text else SigmaString(data)


def _last_backslash(parts: list[Any]) -> tuple[int, int] | None:
    for index in range(len(parts) - 1, -1, -1):
        part = parts[index]
        if isinstance(part, str) and "\\" in part:
            return index, part.rindex("\\")
    return None


def _sigma_string(parts: list[Any]) -> SigmaString:
    string = SigmaString("")
    string.s = tuple(part for part in parts if part != "")
    return string
