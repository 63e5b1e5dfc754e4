"""The TF-IDF head: scikit-learn's TF-IDF exactly, stacked on the CNN, fitted, saved and scored."""

import numpy as np
import pytest
import torch
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from inference.artefact import ModelCard, load_artefact, save_artefact, save_untrained
from inference.encoding import Alphabet
from inference.model import CharCNN
from inference.scorer import Scorer
from inference.tfidf_head import TfidfHead, tfidf_weights
from inference.training.stacking import (
    StackOptions,
    document_idf,
    fit_head,
    offset_loss,
    scaled_loss,
    stack_weights,
    tfidf_matrix,
    with_head,
)
from inference.words import ngram_bags, ngram_ids

TEXTS = ["Not good, not good at all.", "", "great great great staff", "!!!", "good value, great staff " * 50]
BUCKETS = 1 << 20  # no collisions among these few n-grams


def test_tfidf_matrix_equals_scikit_learns_sublinear_tfidf():
    ids, offsets = ngram_bags(TEXTS, BUCKETS)
    ours = tfidf_matrix(ids, offsets, document_idf(ids, offsets, BUCKETS))
    vectorizer = TfidfVectorizer(analyzer=lambda text: [str(i) for i in ngram_ids(text, BUCKETS)], sublinear_tf=True)
    theirs = vectorizer.fit_transform(TEXTS)
    columns = np.array([int(name) for name in vectorizer.get_feature_names_out()])
    np.testing.assert_allclose(ours[:, columns].toarray(), theirs.toarray(), atol=1e-12)
    assert ours.nnz == theirs.nnz  # nothing outside those columns, and an empty text is all zeros


def test_head_word_logits_are_the_sparse_product_the_fit_used():
    ids, offsets = ngram_bags(TEXTS, 4096)
    idf = document_idf(ids, offsets, 4096)
    head = TfidfHead(4096, 3)
    rng = np.random.default_rng(0)
    coef = rng.normal(size=(4096, 3))
    with torch.no_grad():
        head.idf.copy_(torch.from_numpy(idf))
        head.coef.copy_(torch.from_numpy(coef))
        head.intercept.copy_(torch.tensor([0.1, -0.2, 0.3]))
        logits = head.word_logits(torch.from_numpy(ids), torch.from_numpy(offsets)).numpy()
    expected = tfidf_matrix(ids, offsets, idf) @ coef + np.array([0.1, -0.2, 0.3])
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5)
    weights = tfidf_weights(torch.from_numpy(ids), torch.from_numpy(offsets), head.idf)
    assert weights[offsets[1]] == 0  # the empty text's padding bucket counts nothing


def test_an_unfitted_head_keeps_the_cnns_probabilities():
    torch.manual_seed(0)
    base = CharCNN(70, 3, word_buckets=4096, word_dim=8).eval()
    joined = with_head(base, TfidfHead(4096, 3))
    indices, lengths = Alphabet().encode_batch(TEXTS)
    ids, offsets = ngram_bags(TEXTS, 4096)
    words = (torch.from_numpy(ids), torch.from_numpy(offsets))
    with torch.no_grad():
        before = torch.log_softmax(base(torch.from_numpy(indices), torch.from_numpy(lengths), words), 1)
        after = torch.log_softmax(joined(torch.from_numpy(indices), torch.from_numpy(lengths), words), 1)
    torch.testing.assert_close(after, before)


def _word_signal(rows: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Reviews whose class is told by one word among neutral filler: a word model finds it, a random CNN cannot."""
    rng = np.random.default_rng(seed)
    words = ["awful", "okay", "superb"]
    labels = rng.integers(0, 3, rows)
    filler = ["the", "room", "was", "and", "staff", "food", "stay", "price"]
    texts = [" ".join([*rng.choice(filler, 6), words[label], *rng.choice(filler, 4)]) for label in labels]
    return texts, labels


def test_fitted_head_learns_what_the_words_say_and_survives_save_and_load(tmp_path):
    directory = save_untrained(tmp_path / "base", architecture={"word_buckets": 4096, "word_dim": 8})
    model, card, alphabet = load_artefact(directory)
    texts, labels = _word_signal(600, seed=1)
    head, report = fit_head(model, card, alphabet, texts, labels,
                            options=StackOptions(stack_rows=300, max_iter=200), progress=False)
    assert report["folds"] == 1 and report["stack_rows"] == 300 and report["rows"] == 600
    joined = with_head(model, head)
    card.architecture = joined.architecture()
    saved = save_artefact(joined, card, tmp_path / "stacked")
    test_texts, test_labels = _word_signal(200, seed=2)
    before = Scorer.load(directory, device="cpu", precision="fp32").probabilities(test_texts).argmax(1)
    after = Scorer.load(saved, device="cpu", precision="fp32").probabilities(test_texts).argmax(1)
    assert (after == test_labels).mean() > 0.95
    assert (before == test_labels).mean() < 0.6  # the untrained CNN alone does not know
    scorer = Scorer.load(saved, device="cpu", precision="fp32")
    indices, _ = alphabet.encode_batch(test_texts[:20])
    np.testing.assert_allclose(scorer.reference_probabilities(indices, test_texts[:20]),
                               scorer.probabilities(test_texts[:20]), atol=1e-5)


def test_small_sets_use_out_of_fold_word_logits_and_row_weights(tmp_path):
    directory = save_untrained(tmp_path / "base")  # no word branch: the head brings its own buckets
    model, card, alphabet = load_artefact(directory)
    texts, labels = _word_signal(120, seed=3)
    head, report = fit_head(model, card, alphabet, texts, labels, weights=np.full(120, 2.0),
                            options=StackOptions(stack_rows=1000, folds=4, buckets=4096, max_iter=200),
                            progress=False, stack_candidates=np.arange(80))
    assert report["folds"] == 4 and report["stack_rows"] == 80  # only the candidates, all of them
    assert head.idf.shape[0] == report["buckets"] == 4096
    # the stacking layer trusts the word model: its weight on the word logits dominates the CNN's
    weight = np.abs(np.asarray(report["stack_weight"]))
    assert weight[:, 3:].sum() > weight[:, :3].sum()


def test_a_head_needs_the_word_bags():
    model = with_head(CharCNN(70, 3), TfidfHead(4096, 3))
    indices, lengths = Alphabet().encode_batch(["fine"])
    with pytest.raises(ValueError, match="word n-grams"):
        model(torch.from_numpy(indices), torch.from_numpy(lengths))


def test_card_architecture_rebuilds_the_head(tmp_path):
    model = with_head(CharCNN(70, 3, word_buckets=2048, word_dim=4), TfidfHead(2048, 3))
    card = ModelCard(name="m", version="m-1", alphabet=Alphabet().characters, max_length=1014,
                     classes=["bad", "average", "good"], architecture=model.architecture())
    loaded, _, _ = load_artefact(save_artefact(model, card, tmp_path / "m", half=True))
    assert loaded.tfidf is not None and loaded.word_buckets == 2048 and loaded.words is not None


def test_target_rows_let_the_sites_own_meaning_of_a_word_win(tmp_path):
    """Replayed rows say "sick" is bad, the site's fewer rows say it is good: adapted, the site wins."""
    directory = save_untrained(tmp_path / "base")
    model, card, alphabet = load_artefact(directory)
    rng = np.random.default_rng(4)
    filler = ["the", "board", "deck", "trick", "wheels", "park"]

    def rows(count: int, meaning: dict[str, int]) -> tuple[list[str], list[int]]:
        words = list(meaning)
        picked = rng.choice(words, count)
        return [" ".join([*rng.choice(filler, 5), w]) for w in picked], [meaning[w] for w in picked]

    replay_texts, replay_labels = rows(400, {"sick": 0, "meh": 1, "lovely": 2})
    site_texts, site_labels = rows(150, {"sick": 2, "meh": 1, "lovely": 2, "broken": 0})
    texts, labels = replay_texts + site_texts, np.asarray(replay_labels + site_labels)
    site = np.arange(len(replay_texts), len(texts))
    options = StackOptions(buckets=4096, max_iter=300)
    ids, offsets = (torch.from_numpy(a) for a in ngram_bags(["the deck was sick"], 4096))
    verdicts, words = {}, {}
    for name, target in (("mixed", None), ("adapted", site)):
        head, _ = fit_head(model, card, alphabet, texts, labels, options=options, progress=False,
                           stack_candidates=site, target_rows=target)
        verdicts[name] = Scorer(with_head(model, head), card, alphabet, precision="fp32").probabilities(
            ["the deck was sick"]).argmax(1)[0]
        with torch.no_grad():
            words[name] = int(head.word_logits(ids, offsets).argmax(1)[0])
    # the word model itself follows the replay unadapted (the scaled stacking layer's site biases may
    # still rescue the verdict), the site adapted; the candidate's verdict is the site's
    assert words == {"mixed": 0, "adapted": 2} and verdicts["adapted"] == 2


def test_stacking_rows_are_class_balanced_over_themselves_not_the_mix():
    """A site two thirds "bad" (telecom) is balanced where the layer learns, whatever the replay's shares."""
    labels = np.array([0] * 8 + [1] * 2 + [2] * 2)
    weights = np.ones(12)
    weights[0] = 3.0  # an admin label counts more
    full = stack_weights(labels, weights, 3, balance=1.0)
    np.testing.assert_allclose(np.bincount(labels, weights=stack_weights(labels, np.ones(12), 3, 1.0)), [4.0] * 3)
    half = stack_weights(labels, np.ones(12), 3, balance=0.5)
    totals = np.bincount(labels, weights=half)
    assert np.isclose(half.mean(), 1.0) and np.isclose(totals[0] / totals[1], 2.0)  # sqrt(8 / 2)
    assert full[0] == 3 * full[1]
    np.testing.assert_allclose(stack_weights(labels, np.ones(12), 3, balance=0.0), np.ones(12))


def test_scaled_loss_gradient_is_the_loss_derivative():
    rng = np.random.default_rng(5)
    base, word = rng.normal(size=(40, 3)), rng.normal(size=(40, 3))
    labels, weights = rng.integers(0, 3, 40), rng.uniform(0.5, 2.0, 40)
    params = rng.normal(size=5)
    _, grad = scaled_loss(params, base, word, labels, weights, 2.0)
    step = 1e-6
    numeric = [(scaled_loss(params + step * e, base, word, labels, weights, 2.0)[0]
                - scaled_loss(params - step * e, base, word, labels, weights, 2.0)[0]) / (2 * step) for e in np.eye(5)]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_the_scaled_layer_weighs_each_part_and_cannot_remap_classes(tmp_path):
    """Default layer: ``[a I, b I]``, the words trusted over a random CNN; a "full" one may mix classes."""
    assert (StackOptions().stack_layer, StackOptions().stack_balance) == ("scaled", 0.5)
    directory = save_untrained(tmp_path / "base")
    model, card, alphabet = load_artefact(directory)
    texts, labels = _word_signal(150, seed=6)
    reports = {}
    for layer in ("scaled", "full"):
        _, reports[layer] = fit_head(model, card, alphabet, texts, labels, progress=False,
                                     options=StackOptions(buckets=4096, max_iter=200, stack_layer=layer))
    weight = np.asarray(reports["scaled"]["stack_weight"])
    a, b = weight[0, 0], weight[0, 3]
    np.testing.assert_allclose(weight, np.hstack((a * np.eye(3), b * np.eye(3))), atol=1e-4)
    assert b > 1.0 and abs(b) > 5 * abs(a)
    full = np.asarray(reports["full"]["stack_weight"])
    off_diagonal = ~np.hstack((np.eye(3), np.eye(3))).astype(bool)
    assert np.abs(full[off_diagonal]).max() > 1e-3
    with pytest.raises(ValueError, match="stack_layer"):
        fit_head(model, card, alphabet, texts, labels, progress=False,
                 options=StackOptions(buckets=4096, max_iter=50, stack_layer="deep"))


def test_offset_loss_gradient_is_the_loss_derivative():
    rng = np.random.default_rng(8)
    features = sparse.random(30, 12, density=0.3, random_state=2, format="csr")
    offset, labels, weights = rng.normal(size=(30, 3)), rng.integers(0, 3, 30), rng.uniform(0.5, 2.0, 30)
    params = rng.normal(size=12 * 3 + 3)
    _, grad = offset_loss(params, features, offset, labels, weights, 0.5)
    step = 1e-6
    numeric = [(offset_loss(params + step * e, features, offset, labels, weights, 0.5)[0]
                - offset_loss(params - step * e, features, offset, labels, weights, 0.5)[0]) / (2 * step)
               for e in np.eye(len(params))]
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-8)


def test_a_parent_head_is_corrected_not_forgotten(tmp_path):
    """A model ending in a head: the site's rows teach it a new word, and what it knew stays.

    Refitted from the site's few rows instead (the former behaviour), the word model
    forgets every word those rows lack: on the shipped model that lost 0.13 macro-F1 on
    the fixed validation set and the gates refused every candidate.
    """
    directory = save_untrained(tmp_path / "base", architecture={"word_buckets": 4096, "word_dim": 8})
    model, card, alphabet = load_artefact(directory)
    texts, labels = _word_signal(600, seed=9)  # the parent learns awful / okay / superb
    options = StackOptions(stack_rows=300, max_iter=300)
    parent = with_head(model, fit_head(model, card, alphabet, texts, labels, options=options, progress=False)[0])
    rng = np.random.default_rng(10)
    site = [" ".join([*rng.choice(["the", "app", "update", "login"], 5), word]) for word in ["broken", "works"] * 60]
    site_labels = np.array([0, 2] * 60)
    corrected, report = fit_head(parent, card, alphabet, site, site_labels, options=options, progress=False)
    assert report["corrected_parent_head"] and report["rows"] == 120
    assert parent.tfidf is not None
    torch.testing.assert_close(corrected.idf, parent.tfidf.idf)  # the parent's idf and stacking layer kept
    torch.testing.assert_close(corrected.stack.weight, parent.tfidf.stack.weight)
    candidate = Scorer(with_head(model, corrected), card, alphabet, precision="fp32")
    probe = ["the app update broken", "the app update works", "the room was awful", "the room was superb",
             "the room was okay"]
    assert candidate.probabilities(probe).argmax(1).tolist() == [0, 2, 0, 2, 1]
    scratch, _ = fit_head(model, card, alphabet, site, site_labels, options=options, progress=False)
    forgot = Scorer(with_head(model, scratch), card, alphabet, precision="fp32").probabilities(probe[2:]).argmax(1)
    assert forgot.tolist() != [0, 2, 1]  # refitted from the site alone, the parent's words are gone
