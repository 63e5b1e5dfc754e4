"""A training corpus in memory: encoded once, split once, served in batches.

Texts are quantised to alphabet indices (int16, a third of the int64 size: the
v2 corpus of 330k reviews takes 0.7 GB) and, for models with a word branch,
hashed into n-gram bags, before the first epoch, so an epoch is pure arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from inference.encoding import DEFAULT_ALPHABET, Alphabet
from inference.model import WordBags
from inference.training.data import LabelledReviews, read_labelled_csv, sha256_of, split_rows
from inference.words import ngram_bags, select_bags

if TYPE_CHECKING:
    from inference.training.options import TrainOptions


@dataclass
class Corpus:
    reviews: LabelledReviews
    alphabet: Alphabet
    encoded: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    train_rows: np.ndarray
    validation_rows: np.ndarray
    data_sha256: str
    word_ids: np.ndarray | None = None
    word_offsets: np.ndarray | None = None

    def batch(self, rows: np.ndarray, device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor, WordBags | None]:
        """Model inputs for ``rows``: indices, lengths and (with a word branch) n-gram bags."""
        indices = torch.from_numpy(self.encoded[rows].astype(np.int64)).to(device)
        lengths = torch.from_numpy(self.lengths[rows])
        words = None
        if self.word_ids is not None and self.word_offsets is not None:
            ids, offsets = select_bags(self.word_ids, self.word_offsets, rows)
            words = (torch.from_numpy(ids).to(device), torch.from_numpy(offsets).to(device))
        return indices, lengths, words


def split_reviews(options: TrainOptions) -> tuple[LabelledReviews, np.ndarray, np.ndarray]:
    """The labelled reviews the options select, and their (train, validation) rows."""
    reviews = read_labelled_csv(
        options.data, options.text_column, options.label_column, options.source_column,
        options.group_labels, options.ignore_center, options.max_rows,
    )
    prefix_rows = options.prefix_rows
    if options.exclude_sources:
        keep = [i for i, s in enumerate(reviews.sources) if s not in options.exclude_sources]
        prefix_rows = sum(1 for i in keep if i < options.prefix_rows)
        reviews = reviews.subset(keep)
    train_rows, validation_rows = map(
        np.asarray, split_rows(len(reviews), options.validation_split, options.seed, prefix_rows))
    if len(validation_rows) == 0:
        validation_rows = train_rows
    return reviews, train_rows, validation_rows


def load_corpus(options: TrainOptions) -> Corpus:
    """Read, filter, encode and split the CSV the options name."""
    reviews, train_rows, validation_rows = split_reviews(options)
    alphabet = Alphabet(DEFAULT_ALPHABET, options.extra_characters)
    encoded, lengths = alphabet.encode_batch(reviews.texts, options.max_length)
    corpus = Corpus(reviews, alphabet, encoded.astype(np.int16), lengths, np.asarray(reviews.labels),
                    train_rows, validation_rows, sha256_of(options.data))
    if options.word_buckets:
        corpus.word_ids, corpus.word_offsets = ngram_bags(reviews.texts, options.word_buckets)
    return corpus
