"""Bibliometrics joined with judgments: imports, author profiles, leaderboards, reports.

    from annotator.biblio import import_paths, author_profile, leaderboard, biblio_report
    import_paths(engine, ["author.json", "works.json"])        # OpenAlex/S2/CSV/feed page
    profile = author_profile(engine, "Zhengyan Zhang")          # dict, JSON-ready
    board = leaderboard(engine, by="ai_score", min_papers=3)
    report = biblio_report(engine)                              # correlations

Modules: ``importers`` (files -> records), ``match`` (records -> stored rows),
``store`` (snapshots, links), ``fetch`` (live OpenAlex), ``hindex``,
``selection`` (which judgments), ``snapshots`` (which metric counts),
``profiles``, ``report``, ``plots``.
"""

from annotator.biblio.hindex import h_index
from annotator.biblio.profiles import author_profile, find_author, leaderboard
from annotator.biblio.report import biblio_report
from annotator.biblio.save import ImportReport, import_bundle, import_paths, link_feed_pages

__all__ = ["ImportReport", "author_profile", "biblio_report", "find_author", "h_index",
           "import_bundle", "import_paths", "leaderboard", "link_feed_pages"]
