"""The Microsoft Defender XDR KQL backend, corrected (docs/converter-defects.md).

Values with inner or `?` wildcards become anchored, case-insensitive RE2 regexes, `|re` values
RE2 regexes that match what the Sigma reference matches, `|all` lists stay equality tests, and a
Sysmon registry value name is searched in `RegistryValueName`; `|cased` and non-ASCII case
folding are refused.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sigma.backends.kusto import KustoBackend
from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
from sigma.conversion.state import ConversionState
from sigma.rule import SigmaRule
from sigma.types import SigmaString, SpecialChars

from converter.convert.backends.refusals import Refusal, refuse_cased, refuse_non_ascii_case
from converter.convert.backends.regex import RE2, RE2_SPECIAL, backend_regex
from converter.convert.backends.strings import kql_string


class CertdetectKustoBackend(KustoBackend):
    """KustoBackend with anchored, case-insensitive regexes for values with inner wildcards."""

    refusals: ClassVar[tuple[Refusal, ...]] = (
        refuse_cased(
            "KQL",
            "the backend refuses |cased values alone and drops |cased inside value lists",
        ),
        refuse_non_ascii_case(
            "KQL",
            "documents no Unicode case folding for =~, in~ and contains",
            regex_ignorecase=False,  # the RE2 translation spells out every case variant
        ),
    )
    # `has_all` is a term search, not equality: never turn AND-linked values into it.
    convert_and_as_in: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.processing_pipeline is not None:
            keep_registry_wildcards(self.processing_pipeline)
        self._category: str | None = None

    def convert_rule(self, rule: SigmaRule, *args: Any, **kwargs: Any) -> list[Any]:
        self._category = rule.logsource.category
        return super().convert_rule(rule, *args, **kwargs)

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        value = cond.value
        if (
            self._category == "registry_set"
            and cond.field == "RegistryKey"
            and isinstance(value, SigmaString)
        ):
            split = split_registry_value_name(value)
            if split is not None:
                return self._key_and_value_name(split, state)
        if isinstance(value, SigmaString) and _needs_regex(value):
            field = self.escape_and_quote_field(cond.field)
            return f'{field} matches regex "{kql_string(kql_wildcard_regex(value))}"'
        return super().convert_condition_field_eq_val_str(cond, state)

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        re2 = backend_regex(cond, RE2, "KQL")
        return f'{self.escape_and_quote_field(cond.field)} matches regex "{kql_string(re2)}"'

    def convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> Any:
        # The stock method splits a value with an inner wildcard into unordered `contains`.
        plain = [
            arg
            for arg in cond.args
            if isinstance(arg, ConditionFieldEqualsValueExpression)
            and not (isinstance(arg.value, SigmaString) and _needs_regex(arg.value))
        ]
        if len(plain) == len(cond.args):
            return super().convert_condition_as_in_expression(cond, state)
        parts = []
        if plain:
            rest = cond.__class__(plain)  # type: ignore[arg-type]
            parts.append(super().convert_condition_as_in_expression(rest, state))
        for arg in cond.args:
            if arg not in plain:
                assert isinstance(arg, ConditionFieldEqualsValueExpression)
                parts.append(self.convert_condition_field_eq_val_str(arg, state))
        operator = self.or_token if isinstance(cond, ConditionOR) else self.and_token
        return f"{self.token_separator}{operator}{self.token_separator}".join(parts)

    def _key_and_value_name(
        self, split: tuple[SigmaString | None, str], state: ConversionState
    ) -> Any:
        key, name = split
        name_test = f'RegistryValueName =~ "{kql_string(name)}"'
        if key is None:
            return name_test
        key_test = self.convert_condition_field_eq_val_str(
            ConditionFieldEqualsValueExpression("RegistryKey", key), state
        )
        return f"({key_test} and {name_test})"


def split_registry_value_name(value: SigmaString) -> tuple[SigmaString | None, str] | None:
    """Split a Sysmon 13 TargetObject value into its key part and the value name.

    Sysmon's TargetObject for a value write ends with the value name; Defender's RegistryKey
    never holds it (it is in RegistryValueName), so `TargetObject|endswith: '\\Blob'` mapped to
    `RegistryKey endswith "\\Blob"` never matches (pysigma-findings.md, finding 2). Only values
    whose last segment is plain text can be split: `*\\Name` (endswith) gives no key part,
    `*\\Key\\Name` a key that must end with `\\Key`, and a full path an exact key.
    """
    parts = list(value.s)
    if not parts or not isinstance(parts[-1], str) or "\\" not in parts[-1]:
        return None
    head, name = parts[-1].rsplit("\\", 1)
    if not name:
        return None
    key_parts = [*parts[:-1], head] if head else parts[:-1]
    if key_parts == [SpecialChars.WILDCARD_MULTI]:
        return None, name
    if any(isinstance(part, SpecialChars) for part in key_parts[1:]) or not key_parts:
        return None
    return _sigma_string(key_parts), name


def _sigma_string(parts: list[Any]) -> SigmaString:
    string = SigmaString("")
    string.s = [part for part in parts if part != ""]
    return string


def keep_registry_wildcards(pipeline: Any) -> None:
    """Make microsoft_xdr's HKLM/HKU/HKCR prefix replacements leave wildcards alone.

    They rewrite the plain text of the value and parse it again, so the trailing backslash of
    `contains: '\\...\\Certificates\\'` escapes the wildcard after it and the query searches
    for a literal `*` (pysigma-findings.md, finding 1; fixed in pySigma 2.0.1). Replacing in the
    plain parts only (skip_special) keeps the wildcards; the `^HK..` patterns can only match at
    the start of a value's first plain part, which is where a hive name stands.
    """
    for item in pipeline.items:
        if (item.identifier or "").startswith("microsoft_xdr_registry_key_replace"):
            item.transformation.skip_special = True


def _needs_regex(value: SigmaString) -> bool:
    """More than a leading and a trailing `*`: no KQL string operator expresses it."""
    parts = list(value.s)
    if parts and parts[0] is SpecialChars.WILDCARD_MULTI:
        parts = parts[1:]
    if parts and parts[-1] is SpecialChars.WILDCARD_MULTI:
        parts = parts[:-1]
    return any(isinstance(part, SpecialChars) for part in parts)


def kql_wildcard_regex(value: SigmaString) -> str:
    """An RE2 regex for the whole value: case-insensitive, `*` and `?` across line breaks."""
    out = ["(?is)^"]
    for part in value.s:
        if part is SpecialChars.WILDCARD_MULTI:
            out.append(".*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            out.append(".")
        elif isinstance(part, str):
            out.append("".join("\\" + c if c in RE2_SPECIAL else c for c in part))
    out.append("$")
    return "".join(out)
