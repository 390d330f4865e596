"""Sigma reference evaluator: what a rule means, evaluated on raw events, with no SIEM involved.

Every generated query (EQL, SPL, KQL) is checked against recorded cases; the expected outcome of a
case comes from here. The evaluator therefore implements the Sigma specification itself, not any
backend's reading of it (SigmaHQ/sigma-specification: `sigma-rules-specification.md` sections
"Detection", "Escaping", "Lists", "Maps", "Special Field Values", "Field Existence",
"Keywords search", "Condition"; `sigma-appendix-modifiers.md`; `sigma-appendix-taxonomy.md`).

Modules: `sources` (which raw events a rule reads, and their field names), `values` (what a
value and its modifiers match), `rule` (detections and condition, compiled into `ReferenceRule`).

Design:
- pySigma parses the YAML and applies the modifiers (values arrive as `SigmaString` with wildcard
  parts, `SigmaRegularExpression`, `SigmaExpansion`...). The condition string is parsed by
  pySigma's grammar but *not* post-processed: identifiers, `1 of`/`all of`/`them`, map-AND and
  list-OR are resolved here, so the structure the backends convert (pySigma's post-processed
  tree) is not also the structure that checks them.
- A rule compiles once into plain closures per event source; `matches` does no parsing.
- Values are case-insensitive strings compared under full Unicode case folding (`str.casefold`,
  so `ß` equals `SS`). Wildcards and literal ends align on characters of the event value: `?`
  consumes exactly one character of the event value, even one that folds to two (`ß`).
- Field names are case-sensitive: the specification names fields as the log writes them
  ("Field Usage"), and EVTX EventData names are case-sensitive.
- A rule applies only to the raw events of its log source (`converter.core.logsources`: Windows
  channels and event IDs, Linux auditd records, Zeek logs); any other log source,
  and any construct whose meaning the specification leaves to a tool (placeholders, time parts,
  field references with `startswith`/`endswith`/`contains`, a rule already changed by a
  pipeline) raises `UnsupportedRuleError`.

Readings where the specification is silent (each pinned by a "reference choice" test):
- A keyword (unbound value) matches when one value of the raw event (EventData or System field)
  matches it as a whole, like any Sigma value; `*` or `|contains` make it a substring.
- Numbers and booleans match their text ("1", not "01"); `gt`/`gte`/`lt`/`lte` compare decimal
  numbers and never match a non-numeric value; `null` is an absent or empty field; `exists` tests
  presence only, as the modifiers appendix says.
- `1 of pattern` skips `_`-prefixed identifiers as `them` does, unless the pattern starts `_`.
- auditd: a rule reads one record at a time (every SIEM stores the records of an audit event
  apart, and SigmaHQ's auditd rules select one `type`); an audit event matches when one of its
  records does. Field values are the record's as logged: quoted text without its quotes, hex
  (an EXECVE argument or a path holding a space, a quote or a control character) as hex, since
  nothing in the log says which fields a reader would decode.
- Zeek: field values are the JSON writer's: a set or vector matches when one element matches
  (an empty one is absent, like an unset field), booleans are "true"/"false" as in JSON.
- `|fieldref` (modifiers appendix: "compare fields of matched events directly"; nothing more is
  specified): the field's value equals the referenced field's value, compared as they are
  (case-sensitively: "All values are treated as case-insensitive strings" speaks of the rule's
  values, and a field reference brings none), as every pySigma backend that converts it does
  (Splunk `where 'a'='b'`, whose eval expressions are case-sensitive; ES|QL `==`). A field that
  is absent or empty has no value to compare (as for `null`), and a multivalue field compares
  each of its values.
"""

from __future__ import annotations

from .errors import UnsupportedRuleError
from .rule import EventPredicate, ReferenceRule, compile_reference
from .sources import (
    TAXONOMY_FIELDS,
    AuditRecordSource,
    EventSource,
    Source,
    ZeekLogSource,
    event_sources,
    source_of,
    sources_of,
)

__all__ = [
    "TAXONOMY_FIELDS",
    "AuditRecordSource",
    "EventPredicate",
    "EventSource",
    "ReferenceRule",
    "Source",
    "UnsupportedRuleError",
    "ZeekLogSource",
    "compile_reference",
    "event_sources",
    "source_of",
    "sources_of",
]
