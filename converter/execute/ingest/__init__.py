"""Ingest models: from one raw recorded event to the document each SIEM stores.

Written from the vendors' documented schemas and independent of the pySigma pipelines, so a
wrong field mapping in a pipeline cannot verify itself.
"""
