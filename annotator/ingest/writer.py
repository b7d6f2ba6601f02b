"""The writes of one ingest: look-up tables for matching, and the rows themselves.

``PaperWriter`` matches records to stored papers (key, arXiv id, DOI, OpenAlex id,
then normalised title plus first author), merges them (see ``store``), finds or
creates authors and affiliations (``author_index``), and adds metric snapshots.
New papers take ids reserved for their batch (``bulk.reserve_ids``); they and
their links wait until ``flush`` so a batch writes them with one statement per
table, handed to the driver (``bulk.insert_plain``).

A feed page is its author's profile: every paper listed after the page header is
linked to that author in ``author_papers`` (source ``feedpage``), even where "et
al." hides the name in the author list; the page's category becomes the author's
primary category.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Connection

from annotator.db.derived import bump_links
from annotator.ingest.author_index import A, AuthorMatching, short_id
from annotator.ingest.bulk import insert_plain, reserve_ids
from annotator.ingest.feedpage import PageHeader
from annotator.ingest.merging import (
    AM,
    AP,
    AS,
    GUARDED,
    KEY_RANK,
    MATCHED,
    PA,
    PAPER_COLUMNS,
    PM,
    SELECT_AFFS,
    SELECT_AUTHORS,
    SELECT_PAPER,
    SELECT_STORED,
    STORED,
    STORED_ROW,
    P,
    better_authors,
    merged,
)
from annotator.ingest.records import AuthorRef, PaperRecord, normalise_text


class PaperWriter(AuthorMatching):
    """Look-up tables for one ingest call, and the writes themselves.

    Authors and affiliations new in a batch are inserted together; authorship,
    affiliation, page and metric rows wait in ``pending_*`` until ``flush``."""

    def __init__(self, conn: Connection, is_eval: bool, eval_suite: str | None):
        self.conn, self.is_eval, self.eval_suite = conn, is_eval, eval_suite
        self.today = datetime.now(UTC).date()
        self._last_query: dict[str, Any] = {}
        self._names = {}
        self._titles: dict[str, str] = {}
        self._json: dict[tuple[str, ...], str] = {}
        self.page_author: int | None = None  # the author of the feed page being read
        self.page_papers: set[int] = set()  # papers already linked to that author
        self.load()

    def load(self) -> None:
        """Every stored paper's match keys, and the authors (again after a rollback: the
        savepoint took back this process's rows, and others may have committed theirs)."""
        self.papers: dict[str, dict[str, int]] = {k: {} for k in MATCHED}
        for pid, *keys in self.conn.execute(select(P.c.id, *(P.c[k] for k in MATCHED))).all():
            for slot, value in zip(self.papers.values(), keys):
                if value:
                    slot[value] = pid
        self.load_authors()
        self.pending_links: dict[int, tuple[list[int], list[int]]] = {}
        self.stored: dict[int, tuple] = {}
        self.pending_metrics: dict[tuple, dict] = {}
        self.pending_pages: list[int] = []
        self.pending_papers: dict[int, dict] = {}
        self.last_metrics: dict[tuple, Mapping[Any, Any] | None] = {}
        self.links_changed = False  # a stored paper's authors, affiliations or eval flag
        self.free_ids: list[int] = []  # reserved for the batch's new papers, in order
        if self.page_author is not None:  # after a rollback: what stands now
            if any(a["id"] == self.page_author for same in self.by_name.values() for a in same):
                self._load_page(self.page_author)
            else:  # created in a savepoint that was rolled back
                self.start_file()

    def start_file(self) -> None:
        """Papers of the next file belong to no page author until a header says so."""
        self.page_author, self.page_papers = None, set()

    def _remember_paper(self, pid: int, values) -> None:
        for attr in MATCHED:
            if values[attr]:
                self.papers[attr][values[attr]] = pid

    def title_key(self, rec: PaperRecord, norm_title: str) -> str | None:
        """The title match key: normalised title and first author (none without one)."""
        first = self.norm(rec.authors[0].name) if rec.authors else None
        return f"{norm_title}|{first}" if first else None

    def match(self, rec: PaperRecord, norm_title: str, key: str | None = None) -> int | None:
        for attr, value in (
            ("key", key or rec.key()),
            ("arxiv_id", rec.arxiv_id),
            ("doi", rec.doi),
            ("openalex_id", short_id("openalex_id", rec.openalex_id)),
            ("title_key", self.title_key(rec, norm_title)),
        ):
            if value and value in self.papers[attr]:
                return self.papers[attr][value]
        return None

    def _categories(self, categories: list[str]) -> str | None:
        """The JSON list stored for ``categories`` (the same few lists come back often)."""
        if not categories:
            return None
        slot = tuple(categories)
        value = self._json.get(slot)
        if value is None:
            value = self._json[slot] = json.dumps(categories, ensure_ascii=False)
        return value

    def norm_title(self, title: str) -> str:
        """``normalise_text`` of a title, remembered for the batch (matched, then written)."""
        value = self._titles.get(title)
        if value is None:
            value = self._titles[title] = normalise_text(title)
        return value

    def prefetch(self, records: list[PaperRecord], fmt: str) -> None:
        """Read the stored rows, links and latest citation snapshots (from ``fmt``) of the
        papers a batch matches, four queries in all, and reserve ids for the others."""
        matched = [self.match(r, self.norm_title(r.title)) for r in records]
        pids = set(matched) - {None}
        self.free_ids = reserve_ids(self.conn, P, len(matched) - sum(1 for m in matched if m))
        self.free_ids.reverse()  # popped from the end: handed out in ascending order
        if not pids:
            return
        self.stored = {
            row[0]: (dict(zip(STORED, row)), [], [])
            for row in self.conn.execute(SELECT_STORED.where(P.c.id.in_(pids))).all()
        }
        for table, column, slot in ((AS, AS.c.author_id, 1), (PA, PA.c.affiliation_id, 2)):
            for pid, value in self.conn.execute(
                select(table.c.paper_id, column)
                .where(table.c.paper_id.in_(pids))
                .order_by(table.c.paper_id, table.c.position)
            ).all():
                self.stored[pid][slot].append(value)
        self.last_metrics = {(PM.name, "paper_id", pid, fmt): None for pid in pids}
        for row in self.conn.execute(
            select(PM.c.paper_id, PM.c.citations)
            .where(PM.c.paper_id.in_(pids), PM.c.source == fmt)
            .order_by(PM.c.paper_id, PM.c.as_of.desc(), PM.c.id.desc())
        ).mappings():
            latest = (PM.name, "paper_id", row["paper_id"], fmt)
            if self.last_metrics[latest] is None:
                self.last_metrics[latest] = row

    def _stored(self, pid: int) -> tuple:
        """The paper's row, author ids and affiliation ids as they stand now."""
        row, authors, affs = self.stored.pop(pid, None) or (
            dict(zip(STORED, self.conn.execute(SELECT_PAPER, {"pid": pid}).one())),
            list(self.conn.execute(SELECT_AUTHORS, {"pid": pid}).scalars()),
            list(self.conn.execute(SELECT_AFFS, {"pid": pid}).scalars()),
        )
        return (row, *self.pending_links.get(pid, (authors, affs)))

    def write(self, rec: PaperRecord, fmt: str) -> tuple[str, int]:
        """Store one record (after ``prepare``); returns ("new"|"updated"|"unchanged", id)."""
        norm_title = self.norm_title(rec.title)
        values = dict(
            title=rec.title,
            norm_title=norm_title,
            abstract=rec.abstract,
            content_hash=rec.content_hash(),
            category=rec.category,
            categories=self._categories(rec.categories),
            published=rec.published,
            has_code=rec.has_code,
            venue=rec.venue,
            arxiv_id=rec.arxiv_id,
            doi=rec.doi,
            external_id=rec.external_id,
            openalex_id=short_id("openalex_id", rec.openalex_id),
            title_key=self.title_key(rec, norm_title),
        )
        affiliations = [self.affiliations[n] for n in dict.fromkeys(rec.affiliations)]
        stamp = dict(source_format=fmt, source_ref=rec.source_ref)
        key = rec.key()
        pid = self.match(rec, norm_title, key)
        if pid is None:
            row = dict(
                values,
                categories=values["categories"] or "[]",
                key=key,
                authors_truncated=rec.authors_truncated,
                is_eval=self.is_eval,
                eval_suite=self.eval_suite if self.is_eval else None,
                **stamp,
            )
            pid = self._insert_paper(row)
            self.pending_links[pid] = (self.author_ids(rec.authors), affiliations)
            outcome = "new"
        else:
            if pid in self.pending_papers:  # new in this batch: its row must be there to read
                self._write_pending()
            old, old_authors, old_affs = self._stored(pid)
            owner = old["source_format"] == fmt
            new = (
                {k: old[k] if v is None else v for k, v in values.items()}
                if owner
                else {k: merged(old[k], v, owner) for k, v in values.items()}
            )
            if better_authors(rec, old["authors_truncated"], len(old_authors), owner):
                authors = self.author_ids(rec.authors)
                new["authors_truncated"] = rec.authors_truncated
                new["title_key"] = self.title_key(rec, str(new["norm_title"]))
            else:
                authors, new["authors_truncated"] = old_authors, old["authors_truncated"]
                first = (old["title_key"] or "").partition("|")[2]  # the stored first author
                new["title_key"] = f"{new['norm_title']}|{first}" if first else None
            for attr in GUARDED:  # held by another paper: the stored value stays
                if new[attr] and self.papers[attr].get(str(new[attr]), pid) != pid:
                    new[attr] = old[attr]
            if not (affiliations and (owner or not old_affs)):
                affiliations = old_affs
            if self.is_eval:
                new.update(is_eval=True, eval_suite=self.eval_suite)
            if (
                KEY_RANK[key.split(":")[0]] < KEY_RANK.get(old["key"].split(":")[0], 2)
                and key not in self.papers["key"]
            ):
                new["key"] = key
            changed = {k: v for k, v in new.items() if old[k] != v}
            if not changed and authors == old_authors and affiliations == old_affs:
                return "unchanged", pid
            if authors != old_authors or affiliations != old_affs or "is_eval" in changed:
                self.links_changed = True
            self.conn.execute(
                update(P)
                .where(P.c.id == pid)
                .values(**changed, **(stamp if owner else {}), updated_at=datetime.now(UTC))
            )
            if pid not in self.pending_links:
                self.conn.execute(delete(AS).where(AS.c.paper_id == pid))
                self.conn.execute(delete(PA).where(PA.c.paper_id == pid))
            self.pending_links[pid] = (authors, affiliations)
            values = {**new, "key": new.get("key", old["key"])}
            outcome = "updated"
        self._remember_paper(pid, {"key": key, **values})
        return outcome, pid

    def _insert_paper(self, row: dict) -> int:
        """A new paper's id, from the ids ``prefetch`` reserved; the rows wait for
        ``flush`` (one executemany)."""
        if not self.free_ids:  # not reached: prefetch reserves one per unmatched record
            self._write_pending()
            self.free_ids = reserve_ids(self.conn, P, 1)
        pid = self.free_ids.pop()
        self.pending_papers[pid] = dict(row, id=pid)
        return pid

    def _write_pending(self) -> None:
        if self.pending_papers:
            now = datetime.now(UTC)
            insert_plain(
                self.conn, P, PAPER_COLUMNS, [(*STORED_ROW(r), now, now) for r in self.pending_papers.values()]
            )
            self.pending_papers = {}

    def metric(self, table, owner: str, owner_id: int, source: str, values: dict, fresh: bool = False) -> int:
        """Add a dated snapshot unless the latest one from ``source`` holds the same values."""
        slot = (table.name, owner, owner_id, source)
        last: Mapping[Any, Any] | None = self.pending_metrics.get(slot)
        if last is None and slot in self.last_metrics:  # read by ``prefetch``
            last = self.last_metrics[slot]
        elif last is None and not fresh:  # a paper created just now has no snapshots yet
            query = self._last_query.get(table.name)
            if query is None:
                query = self._last_query[table.name] = (
                    select(*(table.c[k] for k in values))
                    .where(table.c[owner] == bindparam("owner"), table.c.source == bindparam("source"))
                    .order_by(table.c.as_of.desc(), table.c.id.desc())
                    .limit(1)
                )
            last = self.conn.execute(query, {"owner": owner_id, "source": source}).mappings().first()
        if last is not None and {k: last[k] for k in values} == values:
            return 0
        self.pending_metrics[slot] = {owner: owner_id, "source": source, "as_of": self.today, **values}
        return 1

    def header(self, h: PageHeader) -> int:
        """The page's author (the page's category wins) and their metric snapshot;
        the papers that follow are linked to them."""
        ref = AuthorRef(name=h.name)
        self.prepare([ref], [], primary_category=h.category)
        aid = self._author_id(ref)
        author = next(a for a in self.by_name[self.norm(ref.name)] if a["id"] == aid)
        if h.category and author["primary_category"] != h.category:
            self.conn.execute(update(A).where(A.c.id == aid).values(primary_category=h.category))
            author["primary_category"] = h.category
        self._load_page(aid)
        return self.metric(
            AM,
            "author_id",
            aid,
            "feedpage",
            dict(
                h_index=h.h_index,
                citations=h.citations,
                works_count=h.papers,
                reported_ai_score=h.ai_score,
                reported_novelty=h.novelty,
            ),
        )

    def _load_page(self, aid: int) -> None:
        self.page_author = aid
        self.page_papers = set(self.conn.execute(select(AP.c.paper_id).where(AP.c.author_id == aid)).scalars())

    def link_to_page(self, pid: int) -> None:
        """Link a paper listed on a feed page to the page's author."""
        if self.page_author is not None and pid not in self.page_papers:
            self.page_papers.add(pid)
            self.pending_pages.append(pid)

    def flush(self) -> None:
        self._write_pending()
        if self.links_changed:  # the leaderboard aggregates cannot tell which rows changed
            bump_links(self.conn)
            self.links_changed = False
        insert_plain(
            self.conn,
            AS,
            ("paper_id", "position", "author_id"),
            [(p, i, a) for p, (authors, _) in self.pending_links.items() for i, a in enumerate(authors)],
        )
        insert_plain(
            self.conn,
            PA,
            ("paper_id", "position", "affiliation_id"),
            [(p, i, a) for p, (_, affs) in self.pending_links.items() for i, a in enumerate(affs)],
        )
        now = datetime.now(UTC)
        for table in (AM, PM):
            rows = [r for (name, *_), r in self.pending_metrics.items() if name == table.name]
            if rows:
                columns = (*rows[0], "created_at")
                insert_plain(self.conn, table, columns, [(*r.values(), now) for r in rows])
        insert_plain(
            self.conn,
            AP,
            ("author_id", "paper_id", "source", "created_at"),
            [(self.page_author, p, "feedpage", now) for p in self.pending_pages],
        )
        self.pending_links, self.pending_metrics, self.stored = {}, {}, {}
        self.pending_pages, self.last_metrics, self._titles, self.free_ids = [], {}, {}, []
