"""The word side branch: stable hashing, bags, and a model that uses it scores the same both ways."""

import zlib

import numpy as np
import torch

from inference.artefact import load_artefact, save_untrained
from inference.encoding import Alphabet
from inference.model import CharCNN
from inference.scorer import Scorer
from inference.words import ngram_bags, ngram_ids, select_bags

TEXTS = ["Not good, never again.", "", "!!!", "Great staff " * 300, "don't   GO"]


def test_ids_are_crc32_of_words_and_pairs_so_every_process_agrees():
    assert ngram_ids("Not good", 1000) == [
        zlib.crc32(b"not") % 999 + 1, zlib.crc32(b"good") % 999 + 1, zlib.crc32(b"not good") % 999 + 1]
    assert ngram_ids("don't GO", 1000)[0] == zlib.crc32(b"don't") % 999 + 1
    assert ngram_ids("", 1000) == [] and ngram_ids("?!", 1000) == []


def test_chained_crc_equals_hashing_each_joined_ngram_string():
    """The fast path continues a CRC instead of joining strings: same ids, for any n and any text."""
    import re

    texts = [*TEXTS, "Kelvin \u212a and \u00c9t\u00e9 caf\u00e9 isn't bad", "x\ud800y z", "a b c d e f"]
    for text in texts:
        words = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower())
        for ngrams in (1, 2, 3):
            expected = [zlib.crc32(" ".join(words[start : start + n]).encode()) % 4095 + 1
                        for n in range(1, ngrams + 1) for start in range(len(words) - n + 1)]
            assert ngram_ids(text, 4096, ngrams) == expected
    ids, offsets = ngram_bags(texts, 4096, 3)
    ends = [*offsets[1:].tolist(), len(ids)]
    assert [ids[start:end].tolist() for start, end in zip(offsets, ends, strict=True)] == \
        [ngram_ids(text, 4096, 3) or [0] for text in texts]


def test_bags_pad_empty_texts_and_select_keeps_each_rows_ids():
    ids, offsets = ngram_bags(TEXTS, 4096)
    assert offsets[0] == 0 and ids[offsets[1]] == 0 and ids[offsets[2]] == 0  # padding bag
    picked_ids, picked_offsets = select_bags(ids, offsets, np.array([4, 0]))
    assert picked_ids[: picked_offsets[1]].tolist() == ngram_ids(TEXTS[4], 4096)
    assert picked_ids[picked_offsets[1] :].tolist() == ngram_ids(TEXTS[0], 4096)


def test_word_branch_fast_forward_equals_reference():
    torch.manual_seed(1)
    model = CharCNN(70, 3, word_buckets=4096, word_dim=8).eval()
    indices, lengths = Alphabet().encode_batch(TEXTS)
    ids, offsets = ngram_bags(TEXTS, 4096)
    words = (torch.from_numpy(ids), torch.from_numpy(offsets))
    with torch.no_grad():
        reference = model.forward_reference(torch.from_numpy(indices), words)
        model.freeze_tail()
        fast = model(torch.from_numpy(indices), torch.from_numpy(lengths), words)
    assert torch.allclose(reference, fast, atol=1e-5)
    # the branch is used: different words, different output
    other = (torch.zeros_like(words[0]), words[1])
    with torch.no_grad():
        assert not torch.allclose(fast, model(torch.from_numpy(indices), torch.from_numpy(lengths), other))


def test_scorer_loads_a_word_branch_model_and_batch_equals_one_by_one(tmp_path):
    directory = save_untrained(tmp_path / "w", max_length=256, seed=2, output_std=1.0, name="w", version="w-1",
                               architecture={"word_buckets": 2048, "word_dim": 4})
    loaded, _, _ = load_artefact(directory)
    assert loaded.words is not None and loaded.words.weight.shape == (2048, 4)
    scorer = Scorer.load(directory, device="cpu")
    batch = scorer.probabilities(TEXTS)
    single = np.concatenate([scorer.probabilities([text]) for text in TEXTS])
    assert np.abs(batch - single).max() <= 1e-5
