"""Fitted heads: a ridge regression from a feature matrix (text embeddings or a chat
judgment's features) to a suite's human labels, stored with its split and provenance.

Modules: ``text`` (the text a prompt version embeds), ``features`` (feature matrices),
``fit`` (ridge fits with an out-of-fold split), ``model`` (a head as one JSON document),
``build`` (a head from labelled papers), ``train`` (``annotator eval fit``),
``head_store`` (the ``fitted_heads`` table and the shipped heads), ``vector_store`` (the
embeddings cache), ``evaluate`` (held-out scores in ``eval run``), ``apply`` (fitted
scores for exports and profiles), ``explain`` (rationales), ``fit_report`` (figures in words).

The shipped heads: ``labelled`` (every labelled paper, targets as percentiles within each
venue-year), ``text_model`` (TF-IDF features and linear maps), ``text_fit`` (sparse ridge
fits, out-of-fold and across suites), ``text_shipped`` (the text head), ``text_words`` (its
words), ``shipped`` (both heads, rebuilt byte for byte by ``make head``).
"""
