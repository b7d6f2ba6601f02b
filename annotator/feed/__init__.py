"""A self-hosted paper feed: fetch new papers on a schedule, judge them, publish the site.

    from annotator.feed.arxiv_api import fetch_arxiv
    from annotator.feed.feedrun import FeedOptions, run_feed
    summary = fetch_arxiv(engine, ["cs.CL"], since=date(2026, 11, 20))   # FetchSummary
    report = run_feed(engine, FeedOptions(categories=["cs.CL"], days=2))   # FeedSummary

Modules (the feed's settings are ``settings.FeedSettings``, ``Settings.feed``):
``cursors`` (where each query stands),
``lock`` (a lease on a cursor row: one fetch of a query, one feed run, at a time),
``pages`` (one fetched page through the ingest readers and writer), ``arxiv_api``
and ``openalex_api`` (the two sources), ``refresh`` (bibliometrics of the authors
seen), ``feedrun`` (the steps of ``feed run``), ``replay`` (a local server that
plays recorded responses back, for tests and benchmarks).
"""
