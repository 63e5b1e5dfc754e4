"""Text quantisation for the char-CNN (Zhang, Zhao & LeCun 2015).

A text becomes a row of alphabet indices: 0 means "no character here" (padding
or a character outside the alphabet, a zero column in the one-hot picture), and
``i`` in 1..len(alphabet) is the i-th alphabet character. The model turns indices
into one-hot columns itself (or gathers kernel columns, which is the same thing),
so this module never builds a one-hot tensor.

Text is lower-cased, cut to ``max_length`` characters (the beginning is kept) and
read backwards, so the last characters the person typed sit at column 0 where the
fully connected layers see them in a fixed place. The same function serves
training and scoring; there is no per-character Python loop: characters are mapped
through a lookup table over Unicode code points.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: 26 letters, 10 digits, 32 punctuation marks, newline and space: 70 characters.
DEFAULT_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyz0123456789"
    "-,;.!?:'\"/\\|_@#$%^&*~`+=<>()[]{}"
    "\n "
)
DEFAULT_MAX_LENGTH = 1014
_CODE_POINTS = 0x110000


class Alphabet:
    """Maps characters to indices 1..n through a code-point lookup table."""

    def __init__(self, characters: str = DEFAULT_ALPHABET, extra: str = "") -> None:
        chars = characters + "".join(c for c in extra if c not in characters)
        if len(set(chars)) != len(chars):
            raise ValueError(f"alphabet has repeated characters: {chars!r}")
        if any(c != c.lower() for c in chars):
            raise ValueError("alphabet characters must be lower-case: text is lower-cased first")
        self.characters = chars
        self.table = np.zeros(_CODE_POINTS, dtype=np.int16)
        self.table[[ord(c) for c in chars]] = np.arange(1, len(chars) + 1, dtype=np.int16)

    def __len__(self) -> int:
        return len(self.characters)

    def encode(self, text: str, max_length: int = DEFAULT_MAX_LENGTH) -> np.ndarray:
        """Indices of one text, reversed and cut to ``max_length`` (no padding)."""
        if not isinstance(text, str):
            raise TypeError(f"review text must be str, got {type(text).__name__}")
        lowered = text.lower()[:max_length]
        code_points = np.frombuffer(lowered.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        return self.table[code_points][::-1]

    def encode_batch(
        self, texts: Sequence[str], max_length: int = DEFAULT_MAX_LENGTH
    ) -> tuple[np.ndarray, np.ndarray]:
        """Indices for many texts as a zero-padded ``(len(texts), max_length)`` int64 array.

        Also returns each text's length in columns (after truncation), which the
        model uses to skip work on the all-padding tail.
        """
        batch = np.zeros((len(texts), max_length), dtype=np.int64)
        lengths = np.zeros(len(texts), dtype=np.int64)
        for row, text in enumerate(texts):
            indices = self.encode(text, max_length)
            batch[row, : len(indices)] = indices
            lengths[row] = len(indices)
        return batch, lengths
