"""What Elasticsearch does with a field because of its mapping, for the EQL compiler.

Elasticsearch resolves every field of an EQL query against the index mappings before it runs
(`x-pack/plugin/ql/.../analyzer/AnalyzerRules`, `ql/.../expression/TypeResolutions`,
`eql/.../analysis/Verifier`) and answers with a verification error, which fails the rule on
every run:
- a field no index maps: `Unknown column [name]` (an optional `?field` is null instead);
- a `text` field with no keyword multi-field, in any comparison: `No keyword/multi-field
  defined exact matches for [name]; define one or use MATCH/QUERY instead` (the EQL syntax
  reference: "EQL searches do not support text fields");
- a string predicate (`:`, `like`, `regex`, `startsWith`...) on a non-string field, `cidrMatch`
  on a non-`ip` field, or a literal of another type family: `first argument of [...] must be
  [type], found value [...] type [...]` (`TypeResolutions.isString`, `isIPAndExact`,
  `isType`);
- a field mapped `index: false`: `Cannot search on field [name] since it is not indexed.`
  (`MappedFieldType.failIfNotIndexed`, at search time).

And at index time: a keyword longer than `ignore_above` is stored in `_source` but not indexed
("ignore_above", Elasticsearch mapping parameters; `KeywordFieldMapper` compares the Java string
length, in UTF-16 code units), so no query, not even `!=` or an exists check, sees it.

The checks are module-level so that tests can swap one for the old behaviour
(`tests/test_engines_eql.py`, the STORAGE rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from converter.core.elastic_fields import ElasticField, elastic_field
from converter.execute.engines.base import QueryError
from converter.execute.engines.eql.fields import Getter

Schema = Mapping[str, ElasticField]
# compare: ==, !=, <, in, a bare field; string: `:`, like, regex and the string functions;
# cidr: cidrMatch; exists: `== null` / `!= null`
Use = Literal["compare", "string", "cidr", "exists"]

# The literal types each family of field accepts in a comparison.
_ACCEPTS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "ip": (str,),
    "date": (str, int),
    "numeric": (int, float),
    "boolean": (bool,),
}
_LITERAL_TYPE = {str: "keyword", int: "long", float: "double", bool: "boolean"}


def check_field(
    schema: Schema, name: str, optional: bool, expression: Any, use: Use, literals: Sequence[Any]
) -> ElasticField | None:
    """The field's mapping, or a QueryError as Elasticsearch's verifier words it; None for an
    optional field that no index maps."""
    mapping = elastic_field(name, schema)
    if mapping is None:
        if optional:
            return None
        raise QueryError(f"Unknown column [{name}]")
    if use == "exists":
        return mapping
    if mapping.family == "string" and not mapping.exact:
        raise QueryError(
            f"[{expression}] cannot operate on field of data type [{mapping.type}]: "
            f"No keyword/multi-field defined exact matches for [{name}]; "
            "define one or use MATCH/QUERY instead"
        )
    expected = {"string": "string", "cidr": "ip"}.get(use)
    if expected is not None and mapping.family != expected:
        raise QueryError(
            f"first argument of [{expression}] must be [{expected}], "
            f"found value [{name}] type [{mapping.type}]"
        )
    if use == "compare":
        for literal in literals:
            if literal is not None and type(literal) not in _ACCEPTS[mapping.family]:
                raise QueryError(
                    f"second argument of [{expression}] must be [{mapping.type}], found value "
                    f"[{literal!r}] type [{_LITERAL_TYPE.get(type(literal), '?')}]"
                )
    if not mapping.indexed:
        raise QueryError(f"Cannot search on field [{name}] since it is not indexed.")
    return mapping


def utf16_length(text: str) -> int:
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def indexed_values(get: Getter, ignore_above: int) -> Getter:
    """`get` without the strings longer than `ignore_above`: the index never saw them."""
    half = ignore_above // 2

    def indexed(value: Any) -> bool:
        if type(value) is not str:
            return True
        size = len(value)  # code points: never more than UTF-16 units, at most half as many
        if size <= half:
            return True
        if size > ignore_above:
            return False
        return value.isascii() or utf16_length(value) <= ignore_above

    def getter(doc: Any) -> Any:
        value = get(doc)
        kind = type(value)
        if kind is str:  # `indexed`, spelled out: the hot path of a scan
            size = len(value)
            if size <= half:
                return value
            if size > ignore_above:
                return None
            return value if value.isascii() or utf16_length(value) <= ignore_above else None
        if kind is list:
            kept = [item for item in value if indexed(item)]
            if not kept:
                return None
            return kept[0] if len(kept) == 1 else kept
        return value

    return getter
