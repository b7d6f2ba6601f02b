"""The static site: ``build_site(engine, out_dir)`` writes HTML pages for a browser
(author pages like the feed's, papers, leaderboards, prompt versions, evals); ``serve``
shows a built site on 127.0.0.1."""

from annotator.site.generate import SiteSummary, build_site

__all__ = ["SiteSummary", "build_site"]
