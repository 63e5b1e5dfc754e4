"""The streaming spine: event schema, topics, embedded broker, Faust worker, ClickHouse sink.

What other rooms use (import the module, not this package):

* ``stream.events`` — ``ReviewEvent``, ``ScoredReview``, ``Brand``, ``DeadLetter``, ``stable_id``.
* ``stream.broker`` — ``EmbeddedBroker``, ``resolve_bootstrap(settings)``, ``read_run_file``.
* ``stream.topics`` — ``ensure_topics(bootstrap, settings)``.
* ``stream.storage`` — ``open_storage(settings) -> Storage``; ``stream.migrations.migrate``.
* ``stream.queries`` — ``ReviewFilter``, ``list_reviews``, ``stats``, ``random_brand``, ``count_brands``.
"""
