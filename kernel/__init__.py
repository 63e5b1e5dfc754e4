"""The kernel: the small modules every room imports, which import nothing from any room.

``settings`` (the one Settings object), ``logs``, ``events`` and ``fields`` (the event
schema), ``framing`` (how events travel in a Kafka message: one object or an array),
``topics`` (topic names, partitions, creation), ``runfile`` (which running system a
command talks to), ``versions`` (library workarounds pinned to the versions they were
written for).

The composition root that builds and wires the rooms is the ``reviewpulse`` package;
nothing imports it.
"""
