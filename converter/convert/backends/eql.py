"""The Elastic EQL backend, corrected (docs/converter-defects.md).

`|cased` values become case-sensitive `like`, `|re` values Lucene regexes that match what the
Sigma reference matches, booleans and numbers on numeric fields `==`; literal wildcards and
non-ASCII case folding are refused, and so is a field Elastic maps as analysed text with no
keyword form (`core.elastic_fields`): Elasticsearch's EQL rejects every comparison on it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sigma.backends.elasticsearch import EqlBackend
from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
from sigma.conversion.state import ConversionState
from sigma.rule import SigmaRule
from sigma.types import SigmaCasedString, SigmaNumber, SigmaString

from converter.convert.backends.accounts import ACCOUNT_NAME_FIELDS, check_account_value
from converter.convert.backends.refusals import (
    Refusal,
    UnsupportedShape,
    refuse_keywords,
    refuse_literal_wildcards,
    refuse_non_ascii_case,
)
from converter.convert.backends.regex import LUCENE, backend_regex
from converter.convert.backends.strings import eql_string
from converter.core.elastic_fields import ELASTIC_FIELDS, NUMERIC_TYPES, elastic_field


class CertdetectEqlBackend(EqlBackend):
    """EqlBackend with case-sensitive `like` for `|cased` and Lucene regexes for `|re`."""

    refusals: ClassVar[tuple[Refusal, ...]] = (
        refuse_keywords(
            "EQL",
            "has no full-text search: the backend writes a bare string, which Elasticsearch's "
            "EQL rejects ('Expected boolean not string')",
        ),
        refuse_literal_wildcards(
            "EQL",
            "wildcard patterns (`:`, `like`) have no escape for * and ?, and Elasticsearch's "
            "EQL parser rejects '\\*' and '\\?'",
        ),
        refuse_non_ascii_case(
            "EQL",
            "folds ASCII letters only (Lucene case-insensitive automata)",
            regex_ignorecase=False,  # the Lucene translation spells out every case variant
        ),
    )
    # `==` does no wildcard matching; `like` is EQL's case-sensitive wildcard operator.
    case_sensitive_match_expression: ClassVar[str] = "{field} like {value}"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._windows_category = False

    def convert_rule(self, rule: SigmaRule, *args: Any, **kwargs: Any) -> list[Any]:
        source = rule.logsource
        self._windows_category = source.product == "windows" and source.category is not None
        return super().convert_rule(rule, *args, **kwargs)

    def _check_account(self, cond: ConditionFieldEqualsValueExpression) -> None:
        if self._windows_category and cond.field in ACCOUNT_NAME_FIELDS:
            check_account_value("EQL", cond.field, cond.value)

    def escape_and_quote_field(self, field_name: str) -> str:
        # Every field of the query passes here, after the pipelines have named it.
        mapping = ELASTIC_FIELDS.get(field_name)
        if mapping is not None and mapping.family == "string" and not mapping.exact:
            analyzer = f", analyzer {mapping.analyzer}" if mapping.analyzer else ""
            raise UnsupportedShape(
                f"Elastic maps {field_name} as {mapping.type}{analyzer} with no keyword form "
                f"({mapping.source}), and Elasticsearch's EQL does not support text fields; "
                "Elastic's own rules on it are KQL query rules over the analysed text"
            )
        return str(super().escape_and_quote_field(field_name))

    def decide_convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> bool:
        # `like~ (...)` lists are case-insensitive: never put |cased values in one.
        if any(isinstance(getattr(arg, "value", None), SigmaCasedString) for arg in cond.args):
            return False
        if any(_is_empty(getattr(arg, "value", None)) for arg in cond.args):
            return False
        if self._windows_category and any(
            getattr(arg, "field", None) in ACCOUNT_NAME_FIELDS for arg in cond.args
        ):
            return False  # each value is checked on its own (accounts)
        # `like~ (...)` is a string operator too: numbers on a numeric field are `==` each, and
        # values on an `ip` field are compared one by one.
        if any(_numeric_comparison(arg) or _ip_field(arg) for arg in cond.args):
            return False
        return super().decide_convert_condition_as_in_expression(cond, state)

    def convert_condition_field_eq_val_bool(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        # Stock writes `field:true`; `:` compares strings only (EQL syntax reference,
        # "Comparison operators") and Elasticsearch rejects the query. `==` compares booleans.
        value = "true" if cond.value.boolean else "false"  # type: ignore[union-attr]
        return f"{self.escape_and_quote_field(cond.field)} == {value}"

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        self._check_account(cond)
        # Elastic's Sysmon pipelines drop empty values ("", "-"), so stock `field == ""` never
        # matches what the Sigma rule means by ''; the value is also absent where it was empty.
        if _is_empty(cond.value):
            field = self.escape_and_quote_field(cond.field)
            return f'(?{field} == null or {field} == "")'
        # On an `ip` field Elasticsearch rejects `:` and `like` ("must be [string], found value
        # [destination.ip] type [ip]"); `==` takes one address, a range needs |cidr.
        if _ip_field(cond):
            value = cond.value
            if not isinstance(value, SigmaString) or value.contains_special():
                raise UnsupportedShape(
                    f"Elastic maps {cond.field} as ip: EQL compares it with one address (==) or "
                    "cidrMatch, not with wildcards, startswith, endswith or contains; use |cidr"
                )
            return f'{self.escape_and_quote_field(cond.field)} == "{eql_string(str(value))}"'
        return super().convert_condition_field_eq_val_str(cond, state)

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        # Stock writes `destination.port:3389`; on a numeric field (`long` in the mapping)
        # Elasticsearch's EQL rejects `:` ("Expected string not number"); `==` compares numbers.
        if _numeric_comparison(cond):
            return f"{self.escape_and_quote_field(cond.field)} == {cond.value}"
        return super().convert_condition_field_eq_val_num(cond, state)

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        self._check_account(cond)
        lucene = backend_regex(cond, LUCENE, "EQL")
        return f'{self.escape_and_quote_field(cond.field)} regex "{eql_string(lucene)}"'


def _is_empty(value: object) -> bool:
    return isinstance(value, SigmaString) and not value.s


def _numeric_comparison(cond: Any) -> bool:
    """A number compared with a field Elastic maps as a number."""
    if not isinstance(getattr(cond, "value", None), SigmaNumber):
        return False
    mapping = elastic_field(cond.field)
    return mapping is not None and mapping.type in NUMERIC_TYPES


def _ip_field(cond: Any) -> bool:
    mapping = elastic_field(getattr(cond, "field", None) or "")
    return mapping is not None and mapping.type == "ip"
