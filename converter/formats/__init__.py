"""Input formats of `certdetect scan`, one reader module per format; `converter.formats.readers`
holds the table of them (`FORMATS`, with a guide to adding one), detects which one a file is in
and reads it, and `converter.formats.base` says what a format declares and yields."""
