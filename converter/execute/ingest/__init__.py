"""Ingest models: from one raw recorded event to the document each SIEM stores.

Written from the vendors' documented schemas and independent of the pySigma pipelines, so a
wrong field mapping in a pipeline cannot verify itself.

Each Windows model (`ecs`, `splunk`, `defender`) has one table, `BUILDERS`, from
(channel, event ID) to the function that builds the stored document; `to_ecs`/`to_splunk`/
`to_defender` dispatch through it and `stores` is derived from it, so `certdetect scan` skips
exactly the events no builder takes. The channel names are `converter.core.logsources`'.

How to add an ingest field
--------------------------
1. Find where the vendor sets it and cite that in the model's docstring: an Elastic integration's
   ingest pipeline (`packages/<package>/data_stream/<stream>/elasticsearch/ingest_pipeline/`), a
   Splunk add-on's props/transforms or data-source page, a Defender XDR table's schema page.
2. Set it in the builder of the event that carries it (the `BUILDERS` entry for its channel and
   event ID: `ecs._sysmon`, `splunk._sysmon_cim`, `defender._sysmon_process`, ...), from the raw
   event's EventData as the vendor derives it, including its quirks.
3. If the raw field is new, give it a realistic value in the event's specimen
   (`converter/verify/specimens.py`): the field check learns the documents' fields from the
   specimens run through these models, so a rule naming the new field is then accepted.
4. For an Elastic model, give the field its mapping in `converter/core/elastic_fields.py`, from
   the file that declares it (ECS, the integration's `fields.yml`): the EQL engine rejects a query
   on a field it has no mapping for, and `tests/test_elastic_fields.py` fails until it is there.
   For a Splunk model, declare it for its data source in `converter/core/splunk_fields.py` with
   the add-on's extraction: the field check ignores an undeclared field, and
   `tests/test_splunk_fields.py` fails until it is there.
5. Pin the value in `tests/test_ingest_<model>.py` and run `certdetect build --check`: a case
   whose outcome changes shows which generated query reads the field.
`tests/test_logsources.py` adds a toy field through a wrapped builder and finds it in a document.
"""
