"""ClickHouse storage: one client for embedded chDB and a server (``clickhouse``), and what reads it.

``migrations`` (the schema, versioned), ``queries`` (reads exact under redelivery),
``label_queue`` and ``labelled`` (rows for retraining), ``model_quality`` (suggestion
acceptance), ``shadow`` and ``shadow_figures`` (candidates' answers, written and read back), ``brand_story`` and ``brand_words`` (a brand's
mix and Fightin' Words, shared with the Brand dashboard), ``alerts`` (the alert rules' SQL and
what fires now), ``backlog`` (the reviews.raw backlog snapshots the stall rule reads),
``memory`` (the worker's storage in memory, for tests).
"""
