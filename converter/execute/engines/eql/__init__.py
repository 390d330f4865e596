"""Execute Elasticsearch EQL event queries on ECS documents, with Elasticsearch's semantics.

No Elasticsearch runs offline, and the `eql` package's PythonEngine evaluates Endgame EQL, not
Elasticsearch EQL (one global case switch, no multi-valued fields, no `?` wildcard, PCRE-style
prefix-anchored regex). This package keeps `eql`'s parser, the syntax check Elastic's
detection-rules repository relies on, and compiles the parsed query into Python closures that
follow Elastic's documentation:

- "EQL syntax reference" (elasticsearch `docs/reference/query-languages/eql/eql-syntax.md`):
  operators, lookups, wildcards, optional fields, strings, case-insensitive functions;
- "EQL function reference": `startsWith`, `endsWith`, `stringContains`, `cidrMatch`;
- "Regular expression syntax" (`query-dsl/regexp-syntax.md`, Lucene `RegExp`) for `regex`.

Where the documentation is silent, Elasticsearch's source decides; each module cites what it
follows:
- `parsing`: `eql`'s parser, and the tokens its AST drops recovered;
- `fields`: a field's values in a document (nested objects, dotted keys, arrays);
- `compiler`: the query as a predicate, with the planner's multi-value and `must_not` rules;
- `matchers`: the value test of each operator and function;
- `regexp`: Lucene's regular expressions;
- `schema_checks`: what a field's Elastic mapping makes Elasticsearch reject or not index;
- `vendor_schema`: Elastic's own check, `eql` with a schema of the mappings (detection-rules');
- `engine`: `EqlEngine`, the `Engine` the runtimes use;
- `grammar_cache`: `eql` imported with lark's grammar cache (imported first, here).
"""

from converter.execute.engines.eql.grammar_cache import import_eql

import_eql()

from converter.execute.engines.eql.engine import EqlEngine  # noqa: E402

__all__ = ["EqlEngine"]
