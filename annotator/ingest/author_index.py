"""Finding and creating the authors and affiliations an ingest names.

``AuthorMatching`` (a part of ``writer.PaperWriter``) holds every stored author by
normalised name and by ORCID, OpenAlex and S2 id, and every affiliation by name,
for the whole ingest. An author is matched by an id first, then by name unless
the ids clash; a stored author gains the ids and primary category a record
adds. New authors and affiliations of a batch are inserted together.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from annotator.db.models import Affiliation, Author
from annotator.ingest.bulk import insert_many
from annotator.ingest.records import AuthorRef, normalise_name

A = SQLModel.metadata.tables[str(Author.__tablename__)]
AF = SQLModel.metadata.tables[str(Affiliation.__tablename__)]
ID_ATTRS = ("orcid", "openalex_id", "s2_id")
AUTHOR_COLUMNS = ("name", "norm_name", "primary_category") + ID_ATTRS


def short_id(attr: str, value: str | None) -> str | None:
    prefix = {"orcid": "https://orcid.org/", "openalex_id": "https://openalex.org/"}.get(attr, "")
    return (value.strip().removeprefix(prefix) or None) if value else None


def _plain(ref: AuthorRef) -> bool:
    """A name and nothing else: matched by name alone."""
    return ref.orcid is None and ref.openalex_id is None and ref.s2_id is None


class AuthorMatching:
    """Authors and affiliations of one ingest: look-up tables and their inserts."""

    conn: Connection
    _names: dict[str, str]

    def load_authors(self) -> None:
        """Every stored author and affiliation (again after a rollback)."""
        self.by_name: dict[str, list[dict]] = {}
        self.by_id: dict[str, dict[str, dict]] = {a: {} for a in ID_ATTRS}
        columns = ("id",) + AUTHOR_COLUMNS[1:]
        for author in self.conn.execute(select(*(A.c[c] for c in columns))).all():
            self._remember_author(dict(zip(columns, author)))
        self.affiliations: dict[str, int] = dict(self.conn.execute(select(AF.c.name, AF.c.id)).all())

    def norm(self, name: str) -> str:
        """``normalise_name``, remembered: the same names come back in every batch."""
        value = self._names.get(name)
        if value is None:
            value = self._names[name] = normalise_name(name)
        return value

    def _remember_author(self, author: dict) -> None:
        self.by_name.setdefault(author["norm_name"], []).append(author)
        for attr in ID_ATTRS:
            if author[attr]:
                self.by_id[attr][author[attr]] = author

    def prepare(
        self, refs: Iterable[AuthorRef], affiliations: Iterable[str], primary_category: str | None = None
    ) -> None:
        """Find or create every author and affiliation named; ids go into the caches.
        Authors are matched by ORCID/OpenAlex/S2 id, then by name unless the ids clash."""
        created: list[dict] = []
        fills: dict[int, dict[str, str]] = {}  # stored authors' new ids and categories
        by_name, known = self.by_name, self._names
        for ref in refs:
            norm = known.get(ref.name) or self.norm(ref.name)
            if not primary_category and _plain(ref):
                if norm not in by_name:  # a new name, no ids to match or fill
                    created.append(self._new_author(ref.name, norm))
                continue  # known by name, no ids to match or fill: the common case
            ids = {a: short_id(a, getattr(ref, a)) for a in ID_ATTRS}
            found = next((self.by_id[a][v] for a, v in ids.items() if v and v in self.by_id[a]), None) or next(
                (c for c in by_name.get(norm, []) if all(not v or not c[a] or c[a] == v for a, v in ids.items())), None
            )
            if found is None:
                found = self._new_author(ref.name, norm)
                created.append(found)
            fill = {a: v for a, v in ids.items() if v and not found[a]}
            if primary_category and not found["primary_category"]:
                fill["primary_category"] = primary_category
            if fill and found["id"] is not None:
                fills.setdefault(found["id"], {}).update(fill)
            found.update(fill)
            for attr in ID_ATTRS:
                if attr in fill:
                    self.by_id[attr][fill[attr]] = found
        self._fill_authors(fills)
        if created:
            now = datetime.now(UTC)
            rows = [{**{c: a[c] for c in AUTHOR_COLUMNS}, "created_at": now} for a in created]
            for author, new_id in zip(created, insert_many(self.conn, A, rows, "norm_name")):
                author["id"] = new_id
        names = list(dict.fromkeys(n for n in affiliations if n not in self.affiliations))
        if names:
            new_ids = insert_many(self.conn, AF, [{"name": n} for n in names], "name")
            self.affiliations.update(zip(names, new_ids))

    def _new_author(self, name: str, norm: str) -> dict:
        author = dict(
            id=None, name=name, norm_name=norm, primary_category=None, openalex_id=None, s2_id=None, orcid=None
        )
        self._remember_author(author)
        return author

    def _fill_authors(self, fills: dict[int, dict[str, str]]) -> None:
        """Stored authors' new ids and categories: one executemany per set of columns."""
        groups: dict[tuple[str, ...], list[dict]] = {}
        for aid, fill in fills.items():
            groups.setdefault(tuple(sorted(fill)), []).append({"aid": aid, **{f"new_{c}": v for c, v in fill.items()}})
        for columns, rows in groups.items():
            self.conn.execute(
                update(A).where(A.c.id == bindparam("aid")).values({c: bindparam(f"new_{c}") for c in columns}), rows
            )

    def author_ids(self, refs: list[AuthorRef]) -> list[int]:
        """The ids of a record's authors (after ``prepare``)."""
        known, by_name = self._names, self.by_name
        return [
            by_name[known.get(r.name) or self.norm(r.name)][0]["id"]
            if r.orcid is None and r.openalex_id is None and r.s2_id is None
            else self._author_id(r)
            for r in refs
        ]

    def _author_id(self, ref: AuthorRef) -> int:
        if _plain(ref):
            return self.by_name[self.norm(ref.name)][0]["id"]
        for attr in ID_ATTRS:
            value = short_id(attr, getattr(ref, attr))
            if value and value in self.by_id[attr]:
                return self.by_id[attr][value]["id"]
        return next(a["id"] for a in self.by_name[self.norm(ref.name)])
