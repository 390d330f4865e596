"""The Splunk SPL backend, corrected (docs/converter-defects.md).

Regexes under NOT or behind a reused identifier go where their operators are, values holding
`&<>` are searched as Splunk's add-ons store them, `|windash` expansions get parentheses and the
per-rule state is reset; what SPL search cannot say (literal `*`, `?`, `|cased`, non-ASCII case
folding, regexes Splunk's PCRE reads differently, a `|fieldref` under NOT) is refused.
"""

from __future__ import annotations

import re
from copy import copy
from typing import Any, ClassVar

from sigma.backends.splunk import SplunkBackend
from sigma.backends.splunk.splunk import (
    SplunkDeferredORRegularExpression,
    SplunkDeferredRegularExpression,
)
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionIdentifier,
    ConditionNOT,
    ConditionOR,
    ConditionSelector,
)
from sigma.conversion.base import TextQueryBackend
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.rule import SigmaRule
from sigma.types import SigmaFieldReference, SigmaRegularExpression, SigmaString

from converter.convert.backends.refusals import (
    Refusal,
    RuleRefusal,
    Value,
    detection_values,
    refuse_cased,
    refuse_literal_star,
    refuse_non_ascii_case,
    refuse_single_wildcard,
)
from converter.convert.backends.regex import CLASS_REASON, has_class_escape, regex_literals
from converter.execute.engines.base import QueryError
from converter.execute.engines.pcre import compile_pcre


def refuse_regex_classes(language: str) -> Refusal:
    def refusal(value: Value) -> str | None:
        if isinstance(value.value, SigmaRegularExpression) and has_class_escape(
            str(value.value.regexp)
        ):
            return f"{value.shown()}: {language}'s PCRE reads {CLASS_REASON}"
        return None

    return refusal


def refuse_negated_field_reference(rule: SigmaRule) -> str | None:
    """SPL: stock moves a field reference to `| where` after the search, which keeps its meaning
    only when the reference is ANDed with the rest; under a NOT covering more than the reference
    it wrote `NOT (other) | where 'a'='b'` for `not (selection and other)`."""
    holders = {
        name
        for name, detection in rule.detection.detections.items()
        if any(isinstance(v.value, SigmaFieldReference) for v in detection_values(detection))
    }
    if not holders:
        return None

    def negated(node: object, under_not: bool) -> bool:
        if isinstance(node, ConditionIdentifier):
            return under_not and node.identifier in holders
        if isinstance(node, ConditionSelector):  # `1 of x*` may select a holder: refuse
            return under_not
        if isinstance(node, ConditionNOT):
            return any(negated(arg, True) for arg in node.args)
        if isinstance(node, (ConditionAND, ConditionOR)):
            return any(negated(arg, under_not) for arg in node.args)
        return False

    for condition in rule.detection.parsed_condition:
        if negated(condition.parse(postprocess=False), False):
            return (
                "a |fieldref under NOT: the Splunk backend moves field references to a `| where` "
                "after the search, outside the NOT (docs/converter-defects.md)"
            )
    return None


_XML_SPECIALS = frozenset("&<>")
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def refuse_regex_xml_specials(value: Value) -> str | None:
    if isinstance(value.value, SigmaRegularExpression) and _XML_SPECIALS.intersection(
        regex_literals(str(value.value.regexp), _XML_SPECIALS)
    ):
        return (
            f"{value.shown()} matches '&', '<' or '>'; Splunk's add-ons extract XML-rendered "
            "values without decoding entities ('<' is stored as '&lt;'), and `regex` runs on them"
        )
    return None


def refuse_pcre_differences(value: Value) -> str | None:
    """A pattern Splunk's PCRE reads differently from Python's `re` (the reference's)."""
    if not isinstance(value.value, SigmaRegularExpression):
        return None
    flags = "".join(sorted(SigmaRegularExpression.sigma_to_re_flag[f] for f in value.value.flags))
    try:
        # The SPL engine's PCRE model states where PCRE and Python differ.
        compile_pcre((f"(?{flags})" if flags else "") + str(value.value.regexp))
    except QueryError as error:
        return f"{value.shown()}: Splunk's PCRE and Sigma's reference (Python re) differ: {error}"
    return None


class CertdetectSplunkBackend(SplunkBackend):
    """SplunkBackend that refuses what SPL search cannot say and resets its per-rule state."""

    refusals: ClassVar[tuple[Refusal, ...]] = (
        refuse_literal_star(
            "SPL", "search cannot escape the asterisk (Search Manual, 'Backslashes')"
        ),
        refuse_single_wildcard(
            "SPL", "has no single-character wildcard (the backend would widen it to '*')"
        ),
        refuse_cased(
            "SPL", "search is case-insensitive and the backend drops |cased inside value lists"
        ),
        refuse_non_ascii_case(
            "SPL", "documents no Unicode case folding for search terms", regex_ignorecase=True
        ),
        refuse_regex_classes("SPL"),
        refuse_regex_xml_specials,
        refuse_pcre_differences,
    )
    rule_refusals: ClassVar[tuple[RuleRefusal, ...]] = (refuse_negated_field_reference,)

    def finalize_query_default(
        self, rule: Any, query: str, index: int, state: ConversionState
    ) -> Any:
        # Stock moves the leading `field=value` terms before a deferred `| rex ... | eval ...`,
        # but not a parenthesized group (the Linux pipelines' `(sourcetype=... EventID=1)`), so
        # the query began with `| rex`: Splunk reads a leading pipe as a generating command and
        # rejects the search. Such a group of plain terms goes first, as the stock does.
        query = super().finalize_query_default(rule, query, index, state)
        if not isinstance(query, str) or not query.startswith("\n| "):
            return query
        marker = "\n| search "
        deferred, _, search = query.partition(marker)
        group = _leading_plain_group(search)
        if group is None:
            return "*" + query  # every event, then the search after the deferred commands
        return group + deferred + marker + search[len(group) :].lstrip()

    def convert_condition_field_eq_expansion(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        # `|windash` expands into an OR that the stock backend leaves bare, even with
        # `parenthesize`: `not x|windash` became `NOT x="-a" OR x="/a" ...`, NOT binding first.
        converted = super().convert_condition_field_eq_expansion(cond, state)
        if isinstance(converted, str):
            return self.group_expression.format(expr=converted)
        return converted

    def decide_convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> bool:
        # an empty value is `NOT field=*`, which an IN list cannot say
        if any(
            isinstance(getattr(arg, "value", None), SigmaString) and not arg.value.s
            for arg in cond.args
        ):
            return False
        return bool(super().decide_convert_condition_as_in_expression(cond, state))

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        # An empty element gives no field (transforms.conf.spec: KEEP_EMPTY_VALS defaults to
        # false; core/splunk_fields), so stock `field=""` never matches what Sigma's '' means;
        # the field is absent where the value was empty, as `NOT field=*` tests.
        if isinstance(cond.value, SigmaString) and not cond.value.s:
            return f"NOT {self.escape_and_quote_field(cond.field)}=*"
        return super().convert_condition_field_eq_val_str(cond, state)

    def convert_value_str(self, s: SigmaString, state: ConversionState) -> str:
        # The add-ons extract XML-rendered values without decoding entities: a value that holds
        # `<` is stored (and searched) as `&lt;`.
        if isinstance(s, SigmaString) and any(
            isinstance(part, str) and _XML_SPECIALS.intersection(part) for part in s.s
        ):
            s = copy(s)
            s.s = tuple(
                part.translate(_XML_ESCAPES) if isinstance(part, str) else part for part in s.s
            )
        return super().convert_value_str(s, state)

    def convert_rule(self, rule: SigmaRule, *args: Any, **kwargs: Any) -> list[Any]:
        # The OR-regex helper keeps its counters on the class; a rule that failed half-way
        # would leave them to the next rule.
        SplunkDeferredORRegularExpression.reset()
        return super().convert_rule(rule, *args, **kwargs)

    # Where a regex item stands: the boolean operators above it, outermost first. pySigma's
    # parent pointers cannot say: an identifier used twice in a condition shares one item, whose
    # parent is wherever it was used last. The conversion walk itself can.
    def _walk(self, kind: type, cond: Any, state: ConversionState, convert: Any) -> Any:
        stack = state.processing_state.setdefault(_OPERATORS, [])
        stack.append(kind)
        try:
            return convert(cond, state)
        finally:
            stack.pop()

    def convert_condition_and(self, cond: ConditionAND, state: ConversionState) -> Any:
        return self._walk(ConditionAND, cond, state, super().convert_condition_and)

    def convert_condition_or(self, cond: ConditionOR, state: ConversionState) -> Any:
        return self._walk(ConditionOR, cond, state, super().convert_condition_or)

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Any:
        return self._walk(ConditionNOT, cond, state, super().convert_condition_not)

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        value = cond.value
        assert isinstance(value, SigmaRegularExpression)
        above = state.processing_state.get(_OPERATORS, [])
        regex = TextQueryBackend.convert_condition_field_eq_val_re(self, cond, state)
        # `| regex F="..."` after the search is right only under ANDs, or directly under one NOT
        # (`regex F!=`). The stock backend uses it whenever no OR is above, so `not (A and R)`
        # became `(not A) and R`; and it finds the ORs through the parent pointers.
        if ConditionOR not in above and ConditionNOT not in above[:-1]:
            return SplunkDeferredRegularExpression(state, cond.field, regex).postprocess(None, cond)
        if _matches_empty(value):
            raise SigmaFeatureNotSupportedByBackendError(
                f"SPL: {cond.field}|re '{value.regexp}' can match the empty string; inside an OR "
                "or a negated group it is tested with `rex` and `isnotnull`, and an empty "
                "capture sets no field, so a match would count as none"
            )
        # The stock form for regexes inside an OR: `rex` into a field, `eval` a flag, then
        # search the flag where the item stands.
        SplunkDeferredORRegularExpression(state, cond.field, regex).postprocess(None, cond)
        flag = SplunkDeferredORRegularExpression.get_field_condition(cond.field)
        flag_is_true = ConditionFieldEqualsValueExpression(flag, SigmaString("true"))
        return TextQueryBackend.convert_condition_field_eq_val_str(self, flag_is_true, state)


_OPERATORS = "certdetect_operators_above"


def _matches_empty(value: SigmaRegularExpression) -> bool:
    flags = 0
    for flag in value.flags:
        flags |= SigmaRegularExpression.sigma_to_python_flags[flag]
    try:
        return re.search(str(value.regexp), "", flags) is not None
    except re.error:
        return False


_PLAIN_TERMS = re.compile(r'\((?:\s*[\w.]+=(?:"(?:[^"\\]|\\.)*"|[^\s")(]+))+\s*\)')


def _leading_plain_group(search: str) -> str | None:
    """A leading `(a=1 b="x")` group of plain field=value terms, or None."""
    match = _PLAIN_TERMS.match(search)
    return match.group() if match else None
