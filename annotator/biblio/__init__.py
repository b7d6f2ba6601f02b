"""Bibliometrics joined with judgments: imports, author profiles, leaderboards, reports.

    from annotator.biblio.save import import_paths
    from annotator.biblio.profiles import author_profile, leaderboard
    from annotator.biblio.report import biblio_report
    import_paths(engine, ["author.json", "works.json"])        # OpenAlex/S2/CSV/feed page
    profile = author_profile(engine, "Zhengyan Zhang")          # AuthorProfile
    board = leaderboard(engine, by="ai_score", min_papers=3)    # Leaderboard
    report = biblio_report(engine)                              # correlations

Modules: ``apijson`` (OpenAlex and Semantic Scholar JSON -> records), ``importers``
(files -> records), ``match`` (records -> stored rows), ``save`` (snapshots, links),
``fetch`` (live OpenAlex), ``hindex``, ``selection`` (which judgments), ``snapshots``
(which metric counts), ``profiles``, ``report``, ``scatter`` (its plots).
"""
