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

WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
#: Characters of a text the branch reads; bounds the cost of a huge text.
MAX_WORD_CHARACTERS = 5000


def ngram_ids(text: str, buckets: int, ngrams: int = 2) -> list[int]:
    """Bucket ids (1..buckets-1) of the text's words and word n-grams up to ``ngrams``."""
    words = WORD.findall(text[:MAX_WORD_CHARACTERS].lower())
    ids = []
    for n in range(1, ngrams + 1):
        for start in range(len(words) - n + 1):
            key = " ".join(words[start : start + n]).encode()
            ids.append(zlib.crc32(key) % (buckets - 1) + 1)
    return ids


def ngram_bags(texts: Sequence[str], buckets: int, ngrams: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Flat ids and per-text start offsets, the layout ``torch.nn.EmbeddingBag`` takes."""
    ids: list[int] = []
    offsets = np.zeros(len(texts), dtype=np.int64)
    for row, text in enumerate(texts):
        offsets[row] = len(ids)
        ids.extend(ngram_ids(text, buckets, ngrams) or [0])
    return np.asarray(ids, dtype=np.int64), offsets


def select_bags(ids: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bags of ``rows`` (any order) out of a corpus-wide ``ngram_bags`` result."""
    ends = np.append(offsets[1:], len(ids))
    parts = [ids[offsets[row] : ends[row]] for row in rows]
    sizes = np.fromiter((len(part) for part in parts), dtype=np.int64, count=len(parts))
    new_offsets = np.zeros(len(parts), dtype=np.int64)
    np.cumsum(sizes[:-1], out=new_offsets[1:])
    return (np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)), new_offsets
