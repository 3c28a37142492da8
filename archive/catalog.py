"""The SQLite catalogue (sqlite-utils): the source of truth for everything ingested.

Tables: documents, files (every path a document was seen at), pages, organisations,
certificates, audits, auditors, document_auditors, findings, document_codes, failures, meta.
A document is written in one transaction, replacing what an earlier extraction wrote, so
re-ingesting changes nothing and an interrupted run leaves no half-written document.
"""
from __future__ import annotations

import fcntl
import json
import re
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from .identifiers import cert_lookup_key
from .messages import message
from .models import Auditor, Document, Finding, Org
from .sqlitedb import open_db
from .text import readable_symbols

SCHEMA_VERSION = 2


class CatalogError(Exception):
    """A catalogue that cannot be used as it is (missing, or written by another schema)."""
JSON_COLUMNS = ("cert_nos", "fields", "codes", "warnings")
# Per page: read by OCR (0/1), its confidence (0-1, mean recognition score over characters), the
# clockwise turn (degrees) that made the page upright and the skew (degrees) it was straightened by.
PAGE_OCR_COLUMNS: dict[str, type] = {"ocr": int, "ocr_confidence": float, "ocr_rotation": int,
                                     "ocr_skew": float}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def org_key(name: str | None, credit_code: str | None) -> str | None:
    """Organisations are identified by credit code, else by their name without blanks."""
    if credit_code:
        return credit_code
    if name:
        return "name:" + re.sub(r"\s+", "", name)
    return None


class Catalog:
    """Typed access to the catalogue database at `path`."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.db = open_db(self.path)
        self.db.execute("PRAGMA foreign_keys=ON")
        self._create()

    def close(self) -> None:
        self.db.conn.close()

    # -- schema ---------------------------------------------------------------------------
    def _create(self) -> None:
        db = self.db
        if "meta" not in db.table_names():
            db["meta"].create({"key": str, "value": str}, pk="key")
            db["meta"].insert({"key": "schema_version", "value": str(SCHEMA_VERSION)})
        found = int(db["meta"].get("schema_version")["value"])
        if found != SCHEMA_VERSION:
            raise CatalogError(message("catalog.schema", path=self.path, found=found, expected=SCHEMA_VERSION))
        db["documents"].create({
            "id": str, "path": str, "filename": str, "size": int, "pages": int,
            "doc_type": str, "title": str, "org_name": str, "credit_code": str, "org_id": str,
            "cert_no": str, "cert_nos": str, "fields": str, "codes": str, "code_table": str,
            "stage": str, "audit_start": str, "audit_end": str, "issue_date": str,
            "expiry_date": str, "scope": str, "audit_id": str, "ocr_pages": int, "status": str,
            "warnings": str, "extractor_version": int, "seconds": float, "ingested_at": str,
        }, pk="id", if_not_exists=True)
        db["files"].create({"path": str, "doc_id": str, "stamp": str, "seen_at": str},
                           pk="path", if_not_exists=True)
        db["pages"].create({"doc_id": str, "number": int, "text": str, "has_text": int,
                            "has_images": int, **PAGE_OCR_COLUMNS},
                           pk=("doc_id", "number"), if_not_exists=True)
        self._add_missing("pages", PAGE_OCR_COLUMNS)
        self._add_missing("documents", {"format": str})
        db["organisations"].create({"id": str, "name": str, "credit_code": str, "names": str},
                                   pk="id", if_not_exists=True)
        db["certificates"].create({"cert_no": str, "lookup_key": str, "org_id": str, "fields": str,
                                   "issue_date": str, "expiry_date": str, "scope": str,
                                   "doc_id": str}, pk="cert_no", if_not_exists=True)
        # Audits are derived from their documents, so they can never disagree with them.
        db.execute("""create view if not exists audits as
            select audit_id as id, org_id, stage, min(audit_start) as start, max(audit_end) as "end",
                   count(*) as documents
            from documents where audit_id is not null group by audit_id""")
        db["auditors"].create({"id": str, "name": str, "reg_no": str}, pk="id", if_not_exists=True)
        db["document_auditors"].create({"doc_id": str, "auditor_id": str, "ord": int, "role": str},
                                       pk=("doc_id", "auditor_id"), if_not_exists=True)
        db["findings"].create({"doc_id": str, "ord": int, "clause": str, "field": str,
                               "severity": str, "statement": str}, pk=("doc_id", "ord"),
                              if_not_exists=True)
        db["document_codes"].create({"doc_id": str, "code": str, "ord": int, "major": str,
                                     "middle": str, "code_table": str},
                                    pk=("doc_id", "code"), if_not_exists=True)
        db["ingest_roots"].create({"path": str, "added_at": str}, pk="path", if_not_exists=True)
        db["failures"].create({"path": str, "sha256": str, "reason": str, "message": str,
                               "attempts": int, "last_attempt": str, "extractor_version": int},
                              pk="path", if_not_exists=True)
        for table, cols in (("documents", ["org_id"]), ("documents", ["doc_type"]),
                            ("documents", ["cert_no"]), ("document_codes", ["code"]),
                            ("document_codes", ["middle"]), ("document_codes", ["major"]),
                            ("findings", ["clause"]), ("certificates", ["lookup_key"]),
                            ("files", ["doc_id"]), ("document_auditors", ["auditor_id"])):
            db[table].create_index(cols, if_not_exists=True)

    def _add_missing(self, table: str, columns: dict[str, type]) -> None:
        """Columns added since a catalogue was created are added to it (empty), so that older
        catalogues open: additive changes need no new schema version."""
        have = set(self.db[table].columns_dict)
        for name, kind in columns.items():
            if name not in have:
                self.db[table].add_column(name, kind)

    # -- reading ---------------------------------------------------------------------------
    def ids_starting_with(self, prefix: str, limit: int = 2) -> list[str]:
        """Document ids that start with `prefix` (hex), at most `limit` of them."""
        return [r[0] for r in self.db.execute(
            "select id from documents where id >= ? and id < ? order by id limit ?",
            [prefix, prefix + "g", limit])]

    def ingest_roots(self) -> list[str]:
        """The folders `ingest` was pointed at (resolved): paths are shown from them on to
        users who are not admins (`archive.visibility.display_path`)."""
        return [row[0] for row in self.db.execute("select path from ingest_roots")]

    def record_roots(self, paths: list[str]) -> None:
        with self.db.conn:
            for path in paths:
                self.db.execute("insert or ignore into ingest_roots (path, added_at) values (?, ?)",
                                [path, _now()])

    def has_document(self, doc_id: str, extractor_version: int | None = None) -> bool:
        row = self.db.execute("select extractor_version from documents where id = ?", [doc_id]).fetchone()
        if row is None:
            return False
        return extractor_version is None or row[0] == extractor_version

    def known_files(self, extractor_version: int) -> dict[str, str]:
        """path → stamp of files whose document was extracted by this version."""
        return dict(self.db.execute(
            "select f.path, f.stamp from files f join documents d on d.id = f.doc_id "
            "where d.extractor_version = ?", [extractor_version]).fetchall())

    @contextmanager
    def ingest_lock(self) -> Iterator[None]:
        """One batch at a time on this catalogue (waits for the other to finish)."""
        with open(self.path.parent / "ingest.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def document_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("select id from documents order by id")]

    def document_stamps(self) -> dict[str, str]:
        """id → when it was last written (the index keeps the same stamp to spot stale entries)."""
        return dict(self.db.execute("select id, ingested_at from documents").fetchall())

    def org_names(self) -> list[str]:
        """Every name an organisation was seen under."""
        names: list[str] = []
        for (raw,) in self.db.execute("select names from organisations"):
            names += json.loads(raw or "[]")
        return names

    def document_count(self) -> int:
        return self.db["documents"].count

    def iter_documents(self) -> Iterator[Document]:
        for row in self.db.query("select * from documents order by path"):
            yield self._document(row)

    def get_document(self, doc_id: str) -> Document | None:
        rows = list(self.db.query("select * from documents where id = ?", [doc_id]))
        return self._document(rows[0]) if rows else None

    def resolve(self, ref: str) -> list[str]:
        """Document ids matching an id, an id prefix (≥ 4 characters) or a path."""
        if re.fullmatch(r"[0-9a-f]{4,64}", ref):
            ids = [r[0] for r in self.db.execute(
                "select id from documents where id like ? order by id", [ref + "%"])]
            if ids:
                return ids
        candidates = {ref, str(Path(ref).resolve())}
        ids = {r[0] for r in self.db.execute(
            f"select doc_id from files where path in ({','.join('?' * len(candidates))})",
            list(candidates))}
        ids |= {r[0] for r in self.db.execute(
            "select id from documents where path = ? or filename = ?", [ref, ref])}
        return sorted(ids)

    def pages(self, doc_id: str) -> list[dict[str, Any]]:
        """Pages in order: number, text, has_text, has_images, ocr (0/1), ocr_confidence (0-1 or
        None), ocr_rotation (degrees turned clockwise, or None), ocr_skew (degrees, or None)."""
        rows = list(self.db.query(
            "select number, text, has_text, has_images, ocr, ocr_confidence, ocr_rotation, ocr_skew "
            "from pages where doc_id = ? order by number", [doc_id]))
        for row in rows:         # catalogued before symbol-font characters were read (one for one)
            row["text"] = readable_symbols(row["text"] or "")
        return rows

    def page_texts(self, doc_id: str) -> list[str]:
        """The pages' texts in order (what the index needs: a third of the time of `pages`)."""
        return [r[0] for r in self.db.execute(
            "select text from pages where doc_id = ? order by number", [doc_id])]

    def failures(self) -> list[dict[str, Any]]:
        return list(self.db.query("select * from failures order by path"))

    def _document(self, row: dict[str, Any]) -> Document:
        doc_id = row["id"]
        auditors = [Auditor(name=r["name"], role=r["role"], reg_no=r["reg_no"]) for r in self.db.query(
            "select a.name, a.reg_no, da.role from document_auditors da join auditors a "
            "on a.id = da.auditor_id where da.doc_id = ? order by da.ord", [doc_id])]
        findings = [Finding(clause=r["clause"], field=r["field"], severity=r["severity"],
                            statement=r["statement"]) for r in self.db.query(
            "select * from findings where doc_id = ? order by ord", [doc_id])]
        data = {k: (json.loads(row[k]) if k in JSON_COLUMNS and row[k] else row[k]) for k in row}
        return Document(
            id=doc_id, path=data["path"], filename=data["filename"], pages=data["pages"],
            format=data.get("format") or "pdf",
            doc_type=data["doc_type"], title=data["title"],
            org=Org(name=data["org_name"], credit_code=data["credit_code"]),
            cert_no=data["cert_no"], cert_nos=data["cert_nos"] or [], fields=data["fields"] or [],
            codes=data["codes"] or [], code_table=data["code_table"], stage=data["stage"],
            audit_start=data["audit_start"], audit_end=data["audit_end"],
            issue_date=data["issue_date"], expiry_date=data["expiry_date"], scope=data["scope"],
            auditors=auditors, findings=findings, ocr_pages=data["ocr_pages"] or 0,
            status=data["status"], warnings=data["warnings"] or [])

    # -- writing ---------------------------------------------------------------------------
    def record_path(self, path: str, doc_id: str, stamp: str) -> list[str]:
        """Note that `path` holds document `doc_id`; returns documents this left without a file."""
        with self.db.conn:
            return self._set_path(path, doc_id, stamp)

    def _set_path(self, path: str, doc_id: str, stamp: str) -> list[str]:
        row = self.db.execute("select doc_id from files where path = ?", [path]).fetchone()
        self._put("files", [{"path": path, "doc_id": doc_id, "stamp": stamp, "seen_at": _now()}])
        self.db.execute("delete from failures where path = ?", [path])
        old = row[0] if row else None
        if old and old != doc_id and not self.db.execute(
                "select 1 from files where doc_id = ? limit 1", [old]).fetchone():
            self._delete_document(old)          # its content is gone from the archive
            return [old]
        return []

    def record_failure(self, path: str, sha256: str | None, reason: str, message: str,
                       extractor_version: int | None = None) -> None:
        with self.db.conn:
            old = self.db.execute("select attempts from failures where path = ?", [path]).fetchone()
            self._put("failures", [{
                "path": path, "sha256": sha256, "reason": reason, "message": message,
                "attempts": (old[0] if old else 0) + 1, "last_attempt": _now(),
                "extractor_version": extractor_version}])

    def save_document(self, doc: Document, pages: list[dict[str, Any]], stamp: str,
                      extractor_version: int, seconds: float) -> list[str]:
        """Write one document and everything derived from it, replacing an earlier version, in
        one transaction. Returns documents removed because this one replaced them at its path."""
        db = self.db
        size = int(stamp.split(":")[0]) if stamp else None
        with db.conn:
            oid = self._resolve_org(doc.org.name, doc.org.credit_code)
            audit_id = f"{oid}|{doc.stage}|{doc.audit_start}" if oid and doc.stage and doc.audit_start else None
            self._delete_children(doc.id)
            self._put("documents", [{
                "id": doc.id, "path": doc.path, "filename": doc.filename, "size": size,
                "pages": doc.pages, "doc_type": doc.doc_type, "title": doc.title,
                "org_name": doc.org.name, "credit_code": doc.org.credit_code, "org_id": oid,
                "cert_no": doc.cert_no, "cert_nos": json.dumps(doc.cert_nos, ensure_ascii=False),
                "fields": json.dumps(doc.fields), "codes": json.dumps(doc.codes),
                "code_table": doc.code_table, "stage": doc.stage, "audit_start": doc.audit_start,
                "audit_end": doc.audit_end, "issue_date": doc.issue_date,
                "expiry_date": doc.expiry_date, "scope": doc.scope, "audit_id": audit_id,
                "ocr_pages": doc.ocr_pages, "status": doc.status, "format": doc.format,
                "warnings": json.dumps(doc.warnings, ensure_ascii=False),
                "extractor_version": extractor_version, "seconds": round(seconds, 4),
                "ingested_at": _now()}])
            self._put("pages", [{"doc_id": doc.id, **{c: None for c in PAGE_OCR_COLUMNS}, **p}
                                for p in pages])
            self._put("document_codes", [
                {"doc_id": doc.id, "code": code, "ord": i, "major": code[:2], "middle": code[:5],
                 "code_table": doc.code_table} for i, code in enumerate(doc.codes)])
            ids = [a.reg_no or f"name:{a.name}" for a in doc.auditors]
            self._put("auditors", [{"id": aid, "name": a.name, "reg_no": a.reg_no}
                                   for aid, a in zip(ids, doc.auditors)])
            self._put("document_auditors", [{"doc_id": doc.id, "auditor_id": aid, "ord": i,
                                             "role": a.role}
                                            for i, (aid, a) in enumerate(zip(ids, doc.auditors))])
            self._put("findings", [{"doc_id": doc.id, "ord": i, **vars(f)}
                                   for i, f in enumerate(doc.findings)])
            if oid:
                self._upsert_org(oid, doc.org)
            if doc.cert_no and doc.doc_type == "certificate":
                self._put("certificates", [{
                    "cert_no": doc.cert_no, "lookup_key": cert_lookup_key(doc.cert_no),
                    "org_id": oid, "fields": json.dumps(doc.fields), "issue_date": doc.issue_date,
                    "expiry_date": doc.expiry_date, "scope": doc.scope, "doc_id": doc.id}])
            return self._set_path(doc.path, doc.id, stamp)

    def _put(self, table: str, rows: list[dict[str, Any]]) -> None:
        """INSERT OR REPLACE rows (all with the same keys) in one statement: the write hot path,
        where sqlite-utils' per-call table introspection would cost more than the write."""
        if not rows:
            return
        cols = list(rows[0])
        sql = (f"insert or replace into [{table}] ({', '.join(f'[{c}]' for c in cols)}) "
               f"values ({', '.join('?' * len(cols))})")
        self.db.conn.executemany(sql, [[r[c] for c in cols] for r in rows])

    def _resolve_org(self, name: str | None, credit_code: str | None) -> str | None:
        """The organisation's key: its credit code when any document gave one (an organisation
        first seen by name only is folded into it), else its name."""
        if credit_code:
            if name:
                by_name = org_key(name, None)
                if by_name != credit_code and self.db.execute(
                        "select 1 from organisations where id = ?", [by_name]).fetchone():
                    self._merge_org(by_name, credit_code)
            return credit_code
        if not name:
            return None
        row = self.db.execute(
            "select o.id from organisations o, json_each(o.names) n where o.credit_code is not null "
            "and n.value = ? limit 1", [name]).fetchone()
        return row[0] if row else org_key(name, None)

    def _merge_org(self, old: str, new: str) -> None:
        names = json.loads((self.db.execute("select names from organisations where id = ?", [old])
                            .fetchone() or ["[]"])[0] or "[]")
        self.db.execute("update documents set org_id = ?, audit_id = ? || substr(audit_id, ?) "
                        "where org_id = ?", [new, new, len(old) + 1, old])
        self.db.execute("update certificates set org_id = ? where org_id = ?", [new, old])
        self.db.execute("delete from organisations where id = ?", [old])
        for n in names:
            self._upsert_org(new, Org(name=n, credit_code=new))

    def _upsert_org(self, oid: str, org: Org) -> None:
        row = self.db.execute("select names, credit_code from organisations where id = ?", [oid]).fetchone()
        names = json.loads(row[0]) if row and row[0] else []
        if org.name and org.name not in names:
            names.append(org.name)
        self._put("organisations", [{"id": oid, "name": names[0] if names else None,
                                     "credit_code": org.credit_code or (row[1] if row else None),
                                     "names": json.dumps(names, ensure_ascii=False)}])

    def _delete_document(self, doc_id: str) -> None:
        self._delete_children(doc_id)
        self.db.execute("delete from documents where id = ?", [doc_id])

    def _delete_children(self, doc_id: str) -> None:
        for table in ("pages", "document_codes", "document_auditors", "findings", "certificates"):
            self.db.execute(f"delete from [{table}] where doc_id = ?", [doc_id])
