"""What certdetect does about the stock pySigma backends' wrong queries (docs/converter-defects.md).

Executing generated queries on events built to match and almost match Sigma values
(`tests/test_agreement.py`) shows value shapes each stock backend converts into a query that
means something else. This package is where each one is handled, per target:

- `refusals.check_rule` walks the rule as written, before any pipeline, and refuses every value
  shape the target cannot express faithfully: `UnsupportedShape` with the reason, so the build
  marks the artifact `unsupported` instead of shipping a query that silently matches something
  else;
- the backend subclasses (`eql`, `splunk`, `kql`) correct the shapes that have a faithful form in
  the target language: `|re` for EQL (Lucene) and KQL (RE2), EQL `|cased`, KQL values with inner
  or `?` wildcards and `|all` lists, SPL regexes under NOT or behind a reused identifier, SPL
  values holding `&<>`, SPL `|windash` grouping;
- `regex` rewrites `|re` values for Lucene and RE2, `strings` writes quoted string bodies.

Artifacts of rules that use none of these shapes are byte-identical to sigma-cli's output; SPL
`|windash` expansions get parentheses.
"""
