"""The stream room: the Faust worker, its ClickHouse storage, the model registry and the learning loop.

* ``stream.worker`` — the Faust app, its batches, parsing, storing with poison isolation,
  overlap, and the drafts worker (typing's own process).
* ``stream.storage`` — ClickHouse (chDB or a server): migrations, the queries the web
  and the commands read, the label queue, labelled rows, model quality, shadow scores.
* ``stream.registry`` — which model artefacts exist and which one scores, the control
  topic that tells every worker, and the hot swap between batches.
* ``stream.learning`` — a retrain end to end (rows, candidate, gates, registry) and the
  automatic retrainer.

Arrows inside the room: ``learning`` -> ``registry`` -> ``storage``; ``worker`` ->
``registry`` and ``storage``. The event schema, topics and the message format are the
kernel's; which running system a command talks to is decided in the root.
"""
