"""Query engines: execute a generated query on the documents its SIEM would store."""
