"""What a search value or a bare term matches, with Splunk's search-time semantics.

- Values and terms are case-insensitive (Search Manual, "Use CASE() and TERM() to match
  phrases": "By default, searches are case-insensitive"). `*` matches any run of characters;
  `?` is not a wildcard (Search Manual, "Wildcards"). The page makes no exception for line
  breaks, so `*` spans them: a multi-line value (a script block, which the add-on extracts
  whole, `converter.core.splunk_fields`) is matched as one string.
- `field=a.b.c.d/n` (IPv4 or IPv6) is a CIDR match against values that are IP addresses (Search
  Reference, `search`: "supports IPv4 and IPv6 addresses and subnets that use CIDR notation").
- Numeric comparisons compare numerically; a value that is not a number never satisfies one,
  and a non-numeric literal is a `QueryError` (string ordering is not modelled).
- Empty values (`field=""`) are `QueryError`s.
- Bare and quoted terms search `_raw`, as the index segments it (Search Manual, "Event
  segmentation and searching"; `segmenters.conf.spec`: default major breakers
  ``[ ] < > ( ) { } | ! ; , ' " * \\n \\r \\s \\t & ? +`` and ``%21 %26 %2526 %3B %7C %20
  %2B %3D -- %2520 %5D %5B %3A %0A %2C %28 %29``, minor breakers ``/ : = @ . - $ # % \\ _``;
  indexed tokens are each major segment, each span from its start to a minor breaker and each
  piece between breakers). Implemented, case-insensitively: a term without wildcards matches
  when every piece of it between breakers is a token of the event and the whole term occurs in
  the raw text; that is how "Use CASE() and TERM()" describes a term with minor breakers ("the
  conjunction of the subterms ... and post-filters the results"), the post-filter being taken
  as a substring test. So `cert` does not match `certutil.exe`; `certutil`, `exe` and
  `"certutil.exe -addstore"` do. Wildcards only at a term's ends, matched against the tokens:
  `x*` a token starts with `x`, `*x` one ends with `x`, `*x*` a major segment contains `x`
  (`x` without major breakers); a lone `*` matches every event. A wildcard inside a term (it
  "might cause inconsistent results", "Wildcards") and a CIDR term are `QueryError`s.
  Not modelled: Splunk's index pre-filter (lispy) for `field=value`, which can drop events
  whose raw text renders a value differently (for example XML entities), and
  `MAJOR_LEN`/`LOOKAHEAD` truncation of long events.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from converter.core.documents import SplunkEvent
from converter.execute.engines.base import QueryError

Extra = dict[str, list[str]]  # fields set by rex/eval earlier in the pipeline
Pred = Callable[[SplunkEvent, Extra], bool]
StrPred = Callable[[str], bool]

NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_CIDR_RE = re.compile(r"[0-9A-Fa-f:.]+/\d{1,3}")

MAJOR_BREAKERS = frozenset("[]<>(){}|!;,'\"*\n\r \t&?+")
MINOR_BREAKERS = frozenset("/:=@.-$#%\\_")
_BREAKERS = MAJOR_BREAKERS | MINOR_BREAKERS
# multi-character major breakers; matched on lower-cased text ('--' ends in a minor breaker)
_MULTI_MAJOR = ("%21", "%26", "%2526", "%3b", "%7c", "%20", "%2b", "%3d", "%2520", "%5d",
                "%5b", "%3a", "%0a", "%2c", "%28", "%29")  # fmt: skip
_SEGMENT_SPLIT_RE = re.compile(
    "|".join(re.escape(m) for m in sorted(_MULTI_MAJOR, key=len, reverse=True))
    + "|["
    + re.escape("".join(sorted(_BREAKERS)))
    + "]"
)


def _wildcard(pattern: str) -> StrPred:
    """Case-insensitive match of a whole value against `pattern` (`*` = any run)."""
    p = pattern.lower()
    parts = p.split("*")
    if len(parts) == 1:
        return lambda v: v.lower() == p
    if len(parts) == 3 and parts[0] == "" and parts[2] == "":
        return lambda v: parts[1] in v.lower()
    if len(parts) == 2 and parts[0] == "":
        return lambda v: v.lower().endswith(parts[1])
    if len(parts) == 2 and parts[1] == "":
        return lambda v: v.lower().startswith(parts[0])
    rx = re.compile(".*".join(re.escape(part) for part in parts), re.S)
    return lambda v: rx.fullmatch(v.lower()) is not None


def _cidr(value: str) -> StrPred | None:
    if "*" in value or not _CIDR_RE.fullmatch(value):
        return None
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None

    def match(v: str) -> bool:
        try:
            return ipaddress.ip_address(v) in net
        except ValueError:
            return False

    return match


def equals_value(value: str) -> StrPred:
    if value == "":
        raise QueryError('field="" (empty value) is not modelled')
    return _cidr(value) or _wildcard(value)


_NUMERIC_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def compare_number(op: str, value: str) -> StrPred:
    if not NUMBER_RE.fullmatch(value):
        raise QueryError(f"{op} with a non-numeric value {value!r} is not modelled")
    limit, cmp = float(value), _NUMERIC_OPS[op]
    return lambda v: NUMBER_RE.fullmatch(v) is not None and cmp(float(v), limit)


def _left_boundary(raw: str, i: int, breakers: frozenset[str] = _BREAKERS) -> bool:
    return i == 0 or raw[i - 1] in breakers or raw.endswith(_MULTI_MAJOR, 0, i)


def _right_boundary(raw: str, j: int) -> bool:
    return j == len(raw) or raw[j] in _BREAKERS


def _occurs(raw: str, core: str, at: Callable[[str, int], bool]) -> bool:
    """Whether `core` occurs in `raw` at some index `i` with `at(raw, i)`."""
    i = raw.find(core)
    while i >= 0:
        if at(raw, i):
            return True
        i = raw.find(core, i + 1)
    return False


def _is_token(raw: str, piece: str) -> bool:
    """Whether `piece` (no breakers in it) is one of `raw`'s indexed segments."""
    size = len(piece)
    return _occurs(raw, piece, lambda r, i: _left_boundary(r, i) and _right_boundary(r, i + size))


def search_term(text: str) -> Pred:
    """Bare or quoted term against `_raw` (see the module docstring for the rules)."""
    if text.strip("*") == "":
        if text == "*":
            return lambda ev, extra: True
        raise QueryError(f"term {text!r} is not supported")
    if _cidr(text) is not None:
        raise QueryError(f"CIDR term {text!r} without a field is not supported")
    lead, trail = text.startswith("*"), text.endswith("*")
    core = text.strip("*").lower()
    if "*" in core:
        raise QueryError(f"wildcard inside term {text!r} (documented as inconsistent)")
    if lead or trail:
        if any(ch in MAJOR_BREAKERS for ch in core) or any(m in core for m in _MULTI_MAJOR):
            raise QueryError(f"wildcard term {text!r} spans a major breaker")
        return _wildcard_term(core, lead, trail)
    # Search Manual, "Use CASE() and TERM()": a term with breakers is searched as the
    # conjunction of its subterms in the index, then post-filtered as a phrase.
    pieces = tuple(p for p in _SEGMENT_SPLIT_RE.split(core) if p)
    if not pieces:
        raise QueryError(f"term {text!r} has no searchable segment")

    def match(ev: SplunkEvent, extra: Extra) -> bool:
        raw = ev.raw.lower()
        return core in raw and all(_is_token(raw, p) for p in pieces)

    return match


def _wildcard_term(core: str, lead: bool, trail: bool) -> Pred:
    """`*x*`, `x*`, `*x` against the indexed tokens (segmenters.conf.spec, MINOR): every
    major segment, every span from its start to a minor breaker, and every piece between
    breakers."""
    size = len(core)
    if lead and trail:  # a major segment contains x
        return lambda ev, extra: core in ev.raw.lower()
    if lead:  # a token ends with x: x ends on a boundary

        def ends(ev: SplunkEvent, extra: Extra) -> bool:
            return _occurs(ev.raw.lower(), core, lambda r, i: _right_boundary(r, i + size))

        return ends
    # a token starts with x: after any breaker, or after a major one if x holds a minor one
    breakers = MAJOR_BREAKERS if any(ch in MINOR_BREAKERS for ch in core) else _BREAKERS

    def starts(ev: SplunkEvent, extra: Extra) -> bool:
        return _occurs(ev.raw.lower(), core, lambda r, i: _left_boundary(r, i, breakers))

    return starts
