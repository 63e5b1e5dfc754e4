"""ClickHouse storage: one client for embedded chDB and a server (``clickhouse``), and what reads it.

``migrations`` (the schema, versioned), ``queries`` (reads exact under redelivery),
``label_queue`` and ``labelled`` (rows for retraining), ``model_quality`` (suggestion
acceptance), ``shadow`` (candidates' answers), ``memory`` (the worker's storage in
memory, for tests).
"""
