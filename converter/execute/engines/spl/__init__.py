"""Execute the SPL that pySigma's Splunk backend emits, with Splunk's search-time semantics.

No SPL evaluator exists outside Splunk, so this package is a strict hand-written parser and
compiler for exactly the subset the backend emits. Anything outside it raises `QueryError`:
a query this engine does not understand is never evaluated by guesswork.

Semantics come from Splunk's documentation (Splunk Enterprise 9.x); each module cites the pages
for what it implements:
- `macros`: search macros, expanded before anything is parsed;
- `quoting`: double-quoted strings and their escapes;
- `pipeline`: the commands of a query (`search`, `regex`, `rex`, `eval`, `where`);
- `search`: a `search` command's expression, OR binding tighter than AND;
- `syntax`: the tree both parsers build;
- `matching`: what a value or a bare term matches (case, wildcards, CIDR, numbers, segments);
- `compiler`: the commands as predicates (multivalue fields, `!=` versus `NOT`, default fields);
- `engine`: `SplEngine`, the `Engine` the runtimes use.
"""

from converter.execute.engines.spl.engine import SplEngine

__all__ = ["SplEngine"]
