"""Quantisation: known strings to known indices, reversal, truncation, unknown characters."""

import numpy as np
import pytest

from inference.encoding import DEFAULT_ALPHABET, Alphabet


def test_default_alphabet_has_70_distinct_characters():
    assert len(DEFAULT_ALPHABET) == 70
    assert len(set(DEFAULT_ALPHABET)) == 70


def test_known_string_is_lowercased_and_reversed():
    alphabet = Alphabet()
    # a=1, b=2, c=3: "ABc" -> "abc" -> reversed "cba"
    assert alphabet.encode("ABc").tolist() == [3, 2, 1]


def test_unknown_characters_are_zero_columns():
    alphabet = Alphabet()
    assert alphabet.encode("a€b😀").tolist() == [0, 2, 0, 1]


def test_truncation_keeps_the_beginning_then_reverses():
    alphabet = Alphabet()
    assert alphabet.encode("abcdef", max_length=3).tolist() == [3, 2, 1]


def test_newline_space_and_punctuation_have_indices():
    alphabet = Alphabet()
    encoded = alphabet.encode("a b\n!")
    assert 0 not in encoded.tolist()
    assert encoded[0] == DEFAULT_ALPHABET.index("!") + 1


def test_extra_characters_extend_the_alphabet():
    alphabet = Alphabet(extra="é")
    assert len(alphabet) == 71
    assert alphabet.encode("é").tolist() == [71]


def test_batch_is_zero_padded_with_lengths():
    alphabet = Alphabet()
    batch, lengths = alphabet.encode_batch(["ab", "", "x" * 2000], max_length=10)
    assert batch.shape == (3, 10)
    assert batch.dtype == np.int64
    assert batch[0].tolist() == [2, 1] + [0] * 8
    assert lengths.tolist() == [2, 0, 10]
    assert not batch[1].any()


def test_non_string_raises_type_error():
    with pytest.raises(TypeError, match="must be str"):
        Alphabet().encode(42)  # type: ignore[arg-type]


def test_lone_surrogates_do_not_crash():
    assert Alphabet().encode("a\ud800b").tolist() == [2, 0, 1]
