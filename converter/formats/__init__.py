"""Input formats of `certdetect scan`, one module per format; `converter.formats.readers` detects
which
one a file is in and `converter.formats.base` says what they yield."""
