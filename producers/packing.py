"""Many reviews per Kafka message for bulk imports: one pending JSON array per partition.

Why: on this project's 2-core box the broker, Faust and the Kafka clients spend about as
much CPU per message as the model spends per review, so one message per review halves
what an import could reach. ``ReviewPacker`` gathers reviews into arrays
(``kernel.framing.encode_message``) and sends each on the partition its reviews' key
hashes to, with the same murmur2 hash as the Kafka clients, so all reviews of a brand
still go to one partition in file order. The worker answers an array with one array of
scored events; dead letters stay one per review.
"""

from __future__ import annotations

import functools

from kafka.partitioner.default import murmur2

from kernel.events import ReviewEvent
from kernel.framing import encode_message
from producers.kafka_publisher import KafkaPublisher

#: At most this many reviews in one message ...
REVIEWS_PER_MESSAGE = 64
#: ... and at most this many bytes (never more than the worker's MAX_TEXT_BYTES for a message).
BYTES_PER_MESSAGE = 64 * 1024


def partition_of(key: bytes, partitions: list[int]) -> int:
    """The partition the Kafka clients' default partitioner picks for ``key``."""
    return partitions[_key_hash(key) % len(partitions)]


@functools.lru_cache(maxsize=4096)
def _key_hash(key: bytes) -> int:
    """kafka-python's murmur2 is pure Python (~2.5 µs a key); a file's brands repeat, so their hashes are kept."""
    return murmur2(key) & 0x7FFFFFFF


class ReviewPacker:
    """Packs reviews into array messages; ``flush`` sends what is pending. Not thread-safe."""

    def __init__(self, publisher: KafkaPublisher, topic: str, max_bytes: int = BYTES_PER_MESSAGE,
                 max_reviews: int = REVIEWS_PER_MESSAGE) -> None:
        self.publisher = publisher
        self.topic = topic
        self.max_bytes = max_bytes
        self.max_reviews = max_reviews
        self.partitions = publisher.partitions(topic)
        self._pending: dict[int, list[tuple[bytes, bytes]]] = {}
        self._pending_bytes: dict[int, int] = {}

    def add(self, event: ReviewEvent) -> None:
        """Queue ``event`` in its partition's array; a full array is sent."""
        key, value = event.key, event.to_bytes()
        partition = partition_of(key, self.partitions)
        if self._pending_bytes.get(partition, 2) + len(value) + 1 > self.max_bytes:  # "[", "]" and commas
            self._send(partition)
        self._pending.setdefault(partition, []).append((key, value))
        self._pending_bytes[partition] = self._pending_bytes.get(partition, 2) + len(value) + 1
        if len(self._pending[partition]) >= self.max_reviews:
            self._send(partition)

    def flush(self) -> None:
        for partition in list(self._pending):
            self._send(partition)

    def _send(self, partition: int) -> None:
        """One message for the partition's pending reviews: an object for one, an array for several."""
        reviews = self._pending.pop(partition, [])
        self._pending_bytes.pop(partition, None)
        if not reviews:
            return
        key = reviews[0][0]
        value = encode_message([v for _, v in reviews])
        self.publisher.send(self.topic, key, value, partition=partition, events=len(reviews))
