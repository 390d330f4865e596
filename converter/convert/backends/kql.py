"""The Microsoft Defender XDR KQL backend, corrected (docs/converter-defects.md).

Values with inner or `?` wildcards become anchored, case-insensitive RE2 regexes, `|re` values
RE2 regexes that match what the Sigma reference matches, `|all` lists stay equality tests, Sysmon
registry paths and data are tested on the columns Defender stores them in (`kql_registry`), and
user hives are spelled `HKEY_CURRENT_USER\\<SID>`; `|cased`, non-ASCII case folding and
`|cidr` (which the offline engine cannot run) are refused.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from sigma.backends.kusto import KustoBackend
from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
from sigma.conversion.state import ConversionState
from sigma.rule import SigmaRule
from sigma.types import SigmaNumber, SigmaString, SpecialChars

from converter.convert.backends.accounts import KUSTO_ACCOUNT_FIELDS, check_account_value
from converter.convert.backends.kql_registry import (
    REGISTRY_CATEGORIES,
    SYSMON_PATH,
    registry_data,
    target_object_regex,
    target_object_test,
)
from converter.convert.backends.refusals import (
    Refusal,
    UnsupportedShape,
    refuse_cased,
    refuse_non_ascii_case,
)
from converter.convert.backends.regex import RE2, RE2_SPECIAL, backend_regex
from converter.convert.backends.strings import kql_string
from converter.core.defender_schema import DEFENDER_TABLES


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
    # Kusto strings are never null (a missing one is ""), so stock `isnull(col)` is always false
    # on a string column; `isempty` is true for "" and for null ("Null values", "isempty()").
    field_null_expression: ClassVar[str] = "isempty({field})"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.processing_pipeline is not None:
            keep_registry_wildcards(self.processing_pipeline)
        self._category: str | None = None
        self._windows_category = False

    def convert_rule(self, rule: SigmaRule, *args: Any, **kwargs: Any) -> list[Any]:
        self._category = rule.logsource.category
        self._windows_category = rule.logsource.product == "windows" and self._category is not None
        return super().convert_rule(rule, *args, **kwargs)

    def _check_account(self, cond: ConditionFieldEqualsValueExpression) -> None:
        if self._windows_category and cond.field in KUSTO_ACCOUNT_FIELDS:
            check_account_value("KQL", cond.field, cond.value)

    def _column_type(self, field: str, state: ConversionState) -> str | None:
        """The Kusto type of `field` in the rule's table; None where the table is unknown."""
        table = DEFENDER_TABLES.get(state.processing_state.get("query_table") or "")
        return table.columns.get(field) if table is not None else None

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        # Kusto does not compare a string column with a number (a semantic error, so the stock
        # `RegistryValueData == 0` fails in Defender); Sigma compares the number's text.
        if self._column_type(cond.field, state) == "string":
            text = SigmaString(str(cond.value))
            return self.convert_condition_field_eq_val_str(
                ConditionFieldEqualsValueExpression(cond.field, text), state
            )
        return super().convert_condition_field_eq_val_num(cond, state)

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        value = cond.value
        self._check_account(cond)
        if self._column_type(cond.field, state) in _NUMERIC and isinstance(value, SigmaString):
            return self._number_column(cond.field, value, state)
        if self._category in REGISTRY_CATEGORIES and isinstance(value, SigmaString):
            if cond.field == "RegistryKey":
                return target_object_test(
                    value, self._category, lambda field, v: self._plain(field, v, state)
                )
            if cond.field == "RegistryValueData":
                return self._plain(cond.field, registry_data(value), state)
        return self._plain(cond.field, value, state)

    def escape_and_quote_field(self, field_name: str) -> str:
        if field_name == SYSMON_PATH:  # an expression (kql_registry), not a column name
            return field_name
        return str(super().escape_and_quote_field(field_name))

    def _plain(self, field: str, value: Any, state: ConversionState) -> Any:
        """One comparison, converted as it is (no registry split)."""
        if isinstance(value, SigmaString) and _needs_regex(value):
            name = self.escape_and_quote_field(field)
            return f'{name} matches regex "{kql_string(kql_wildcard_regex(value))}"'
        return super().convert_condition_field_eq_val_str(
            ConditionFieldEqualsValueExpression(field, value), state
        )

    def _number_column(self, field: str, value: SigmaString, state: ConversionState) -> Any:
        """A Sigma string on a numeric column: `=~` and `contains` take strings only in Kusto."""
        text = str(value)
        if not value.contains_special() and _INTEGER.fullmatch(text):
            number = int(text, 16) if text[:2].lower() == "0x" else int(text)
            return f"{self.escape_and_quote_field(field)}{self.num_eq_token}{number}"
        raise UnsupportedShape(
            f"KQL: {field} is a number column in Defender; {text!r} is not a plain integer"
        )

    def convert_condition_field_eq_val_cidr(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        # Stock writes ipv4_is_in_range / ipv6_is_match, which Defender runs; the offline engine
        # (duckdb-kql) has no translation for either, so such a query could not be verified.
        raise UnsupportedShape(
            f"{cond.field}|cidr: the KQL engine (duckdb-kql) cannot execute ipv4_is_in_range or "
            "ipv6_is_match, so the query cannot be verified offline"
        )

    def decide_convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> bool:
        # numbers on string columns and strings on numeric ones are converted value by value,
        # and so are account names (accounts)
        if self._windows_category and _field_of(cond) in KUSTO_ACCOUNT_FIELDS:
            return False
        column = self._column_type(_field_of(cond), state)
        if any(
            isinstance(arg, ConditionFieldEqualsValueExpression)
            and (
                (column == "string" and isinstance(arg.value, SigmaNumber))
                or (column in _NUMERIC and isinstance(arg.value, SigmaString))
            )
            for arg in cond.args
        ):
            return False
        # registry paths and data are rewritten value by value (kql_registry)
        if self._category in REGISTRY_CATEGORIES and any(
            isinstance(arg, ConditionFieldEqualsValueExpression)
            and arg.field in ("RegistryKey", "RegistryValueData")
            for arg in cond.args
        ):
            return False
        # Stock quotes numbers into `in~ ("4444", "8443")`, a string operator that Kusto refuses
        # on an int column such as RemotePort; each number stays `==`, as a single one does.
        if any(isinstance(getattr(arg, "value", None), SigmaNumber) for arg in cond.args):
            return False
        return bool(super().decide_convert_condition_as_in_expression(cond, state))

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        self._check_account(cond)
        re2 = backend_regex(cond, RE2, "KQL")
        if self._category in REGISTRY_CATEGORIES and cond.field == "RegistryKey":
            return target_object_regex(re2, self._category)
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


_NUMERIC = frozenset({"long", "int", "real"})
# decimal, or hexadecimal as Windows writes logon IDs (`0x3e7`); the models store both as numbers
_INTEGER = re.compile(r"-?[0-9]+|0[xX][0-9a-fA-F]+")


def _field_of(cond: ConditionOR | ConditionAND) -> str:
    first = cond.args[0] if cond.args else None
    return first.field if isinstance(first, ConditionFieldEqualsValueExpression) else ""


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
        if item.identifier == "microsoft_xdr_registry_key_replace_hku":
            # Defender rows spell user hives HKEY_CURRENT_USER\<SID>\, not HKEY_USERS\
            # (docs/converter-defects.md, "KQL registry", K5)
            item.transformation.replacement = "HKEY_CURRENT_USER"


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
