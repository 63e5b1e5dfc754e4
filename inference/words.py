"""Hashed word n-grams: the char-CNN's word side branch (fastText's trick).

A character CNN needs millions of reviews to learn what a word-level model reads
off at once ("not good", "never again"). The side branch gives it that: every
lower-cased word and word pair is hashed into one of ``buckets`` rows of an
embedding table, the rows are averaged, and the average joins the CNN's features
before the last layer. Hashing needs no vocabulary, so the artefact stays a fixed
size and a word never seen in training simply lands in some bucket.

The hash is CRC-32 (``zlib``), not Python's ``hash``, which changes per process.
Index 0 is padding: a text without words gets an all-zero vector.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

#: A word: letters and digits, with an English contraction ("don't"); ASCII only, so
#: matching the UTF-8 bytes finds the same words as matching the str would.
WORD = re.compile(rb"[a-z0-9]+(?:'[a-z]+)?")
#: Characters of a text the branch reads; bounds the cost of a huge text.
MAX_WORD_CHARACTERS = 5000


def ngram_hashes(text: str, ngrams: int = 2) -> list[int]:
    """CRC-32 of the text's lower-cased words, then of its word pairs (``"not good"``), up to ``ngrams``.

    An n-gram's CRC continues its first n-1 words' CRC with ``b" " + next word``
    (``crc32(b" good", crc32(b"not")) == crc32(b"not good")``), so no n-gram string is
    built: half the cost of joining and hashing each one, in the scorer's lanes.
    """
    words = WORD.findall(text[:MAX_WORD_CHARACTERS].lower().encode("utf-8", "surrogatepass"))
    running = [zlib.crc32(word) for word in words]
    hashes = list(running)
    spaced = [b" " + word for word in words]
    for n in range(2, ngrams + 1):
        running = [zlib.crc32(following, head) for head, following in zip(running, spaced[n - 1 :], strict=False)]
        hashes.extend(running)
    return hashes


def bucket_ids(hashes: np.ndarray, buckets: int) -> np.ndarray:
    """Bucket ids 1..buckets-1 of CRC values (0 is padding)."""
    return hashes % (buckets - 1) + 1


def ngram_ids(text: str, buckets: int, ngrams: int = 2) -> list[int]:
    """Bucket ids (1..buckets-1) of the text's words and word n-grams up to ``ngrams``."""
    return bucket_ids(np.asarray(ngram_hashes(text, ngrams), dtype=np.int64), buckets).tolist()


def ngram_bags(texts: Sequence[str], buckets: int, ngrams: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Flat ids and per-text start offsets, the layout ``torch.nn.EmbeddingBag`` takes.

    A text without words gets the padding id 0, so every bag has at least one entry.
    """
    hashes: list[int] = []
    offsets = np.zeros(len(texts), dtype=np.int64)
    for row, text in enumerate(texts):
        offsets[row] = len(hashes)
        hashes.extend(ngram_hashes(text, ngrams) or [-1])
    values = np.asarray(hashes, dtype=np.int64)
    return np.where(values < 0, 0, bucket_ids(values, buckets)), offsets


def select_bags(ids: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bags of ``rows`` (any order) out of a corpus-wide ``ngram_bags`` result."""
    ends = np.append(offsets[1:], len(ids))
    parts = [ids[offsets[row] : ends[row]] for row in rows]
    sizes = np.fromiter((len(part) for part in parts), dtype=np.int64, count=len(parts))
    new_offsets = np.zeros(len(parts), dtype=np.int64)
    np.cumsum(sizes[:-1], out=new_offsets[1:])
    return (np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)), new_offsets
