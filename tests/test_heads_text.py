"""The text model: the same features as scikit-learn's TF-IDF, honest held-out scores for the
papers it was fitted on, percentile targets per venue-year, and a round trip through JSON."""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from annotator.heads.labelled import percentiles
from annotator.heads.text_fit import counts, fit_ridge, held_out, top_columns
from annotator.heads.text_model import TextModel, key, make_counter, smooth_idf, tfidf

DOCS = [
    "Graph neural networks for molecules",
    "A study of graph attention and molecules",
    "Reinforcement learning with sparse rewards",
    "Sparse attention for long documents",
    "Molecules, graphs and sparse rewards in reinforcement learning",
    "Attention is what transformers need",
]


def test_features_match_scikit_learn_tfidf():
    ref = TfidfVectorizer(ngram_range=(1, 2), stop_words="english", sublinear_tf=True)
    expected = ref.fit_transform(DOCS).toarray()
    c = make_counter((1, 2)).fit(DOCS)
    x = c.transform(DOCS)
    vocab = {t: ref.vocabulary_[t] for t in c.vocabulary_}
    got = tfidf(x, smooth_idf(x)).toarray()
    order = [c.vocabulary_[t] for t in sorted(vocab, key=vocab.__getitem__)]
    assert np.allclose(got[:, order], expected)


def test_counts_keep_a_sorted_vocabulary_and_top_columns_by_count(tmp_path):
    x, vocab = counts(DOCS, min_df=1, max_features=None, cache=tmp_path)
    assert vocab == sorted(vocab) and x.shape == (len(DOCS), len(vocab))
    again, vocab2 = counts(DOCS, min_df=1, max_features=None, cache=tmp_path)  # from the cache
    assert vocab2 == vocab and (again != x).nnz == 0
    top = top_columns(x, 3)
    totals = np.asarray(x.sum(axis=0)).ravel()
    assert sorted(totals[top]) == sorted(totals)[-3:]


def test_a_training_text_gets_its_held_out_prediction():
    rng = np.random.default_rng(0)
    texts = [f"{DOCS[i % len(DOCS)]} variant {i}" for i in range(40)]
    c = make_counter((1, 1)).fit(texts)
    x_counts = c.transform(texts)
    idf = smooth_idf(x_counts)
    x = tfidf(x_counts, idf)
    y = rng.normal(size=40)
    folds = np.arange(40) % 5
    oof = held_out(x, y, folds, 1.0)
    w, b = fit_ridge(x, y, 1.0)
    vocab = sorted(c.vocabulary_, key=c.vocabulary_.__getitem__)
    model = TextModel(vocab, idf, (1, 1), {"ai": w}, {"ai": b}, 1.0, {key(t): [float(v)] for t, v in zip(texts, oof)})
    model = TextModel.from_json(model.to_json())
    assert np.allclose(model.predict(texts)[:, 0], oof, atol=1e-3)  # never in-sample
    in_sample = model.predict(texts, held_out=False)[:, 0]
    assert np.allclose(in_sample, x @ w + b, atol=1e-3)
    assert not np.allclose(in_sample, oof, atol=1e-3)
    new = "sparse attention for molecules"
    assert not model.in_training(new)
    assert np.isfinite(model.predict([new])).all()


def test_percentiles_are_within_each_group():
    y = np.array([1.0, 2.0, 3.0, 10.0, 0.0, np.nan])
    group = np.array(["a", "a", "a", "b", "b", "b"])
    got = percentiles(y, group)
    assert np.allclose(got[:5], [100 / 6, 50, 500 / 6, 75, 25])
    assert np.isnan(got[5])
