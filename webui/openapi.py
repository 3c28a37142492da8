"""The OpenAPI 3.1 document of /api/v1: the contract the API tests check every response against."""
from __future__ import annotations

from typing import Any

from archive.readers.dispatch import DOCUMENT_KINDS

FIELDS = ["QMS", "EMS", "OHSMS", "FSMS", "HACCP", "ISMS", "ITSMS", "EnMS", "IPMS", "MMS", "SERVICE", "PRODUCT"]
STAGES = ["stage1", "stage2", "surveillance1", "surveillance2", "surveillance3", "recertification", "special"]
DOC_TYPES = ["application", "contract_review", "audit_programme", "audit_notice", "audit_plan", "checklist",
             "attendance", "document_review", "ncr", "observation", "audit_report", "decision", "certificate",
             "other"]

_str_or_null = {"type": ["string", "null"]}
_counts = {"type": "object", "additionalProperties": {"type": "integer"}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable_enum(values: list[str]) -> dict[str, Any]:
    return {"enum": values + [None]}


def _document_properties(full_findings: bool) -> dict[str, Any]:
    finding = {"type": "object", "required": ["clause", "field", "severity"], "properties": {
        "clause": _str_or_null, "field": _nullable_enum(FIELDS), "severity": _nullable_enum(["minor", "major"])}}
    if full_findings:
        finding["required"] = finding["required"] + ["statement"]
        finding["properties"] = {**finding["properties"], "statement": _str_or_null}
    return {
        "id": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "path": {"type": "string"}, "filename": {"type": "string"},
        "pages": {"type": "integer", "minimum": 0},
        "doc_type": _nullable_enum(DOC_TYPES), "title": _str_or_null,
        "org": {"type": "object", "required": ["name", "credit_code"],
                "properties": {"name": _str_or_null, "credit_code": _str_or_null}},
        "cert_no": _str_or_null, "cert_nos": {"type": "array", "items": {"type": "string"}},
        "fields": {"type": "array", "items": {"enum": FIELDS}},
        "codes": {"type": "array", "items": {"type": "string", "pattern": r"^\d{2}\.\d{2}\.\d{2}$"}},
        "code_table": _str_or_null,
        "stage": _nullable_enum(STAGES),
        "audit_start": {"type": ["string", "null"], "format": "date"},
        "audit_end": {"type": ["string", "null"], "format": "date"},
        "issue_date": {"type": ["string", "null"], "format": "date"},
        "expiry_date": {"type": ["string", "null"], "format": "date"},
        "scope": _str_or_null,
        "auditors": {"type": "array", "items": {"type": "object", "required": ["name", "role", "reg_no"],
                                                 "properties": {"name": {"type": "string"},
                                                                "role": _nullable_enum(["leader", "member", "expert"]),
                                                                "reg_no": _str_or_null}}},
        "findings": {"type": "array", "items": finding},
        "ocr_pages": {"type": "integer", "minimum": 0},
        "format": {"type": "string", "enum": list(DOCUMENT_KINDS),
                   "description": "the format read from the file's content (pdf, docx, wordml, doc, image …)"},
        "status": {"type": "string"},
        "warnings": {"type": "array", "items": {"type": "string"}},
    }


_DOC_REQUIRED = ["id", "path", "filename", "pages", "doc_type", "title", "org", "cert_no", "fields", "codes",
                 "stage", "audit_start", "audit_end", "auditors", "findings", "ocr_pages", "status"]

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "object", "required": ["code", "message"],
                  "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
    "Document": {"type": "object", "required": _DOC_REQUIRED, "properties": _document_properties(True)},
    "Snippet": {"type": "object", "required": ["page", "html"],
                "properties": {"page": {"type": "integer", "minimum": 1}, "html": {"type": "string"}}},
    "Hit": {"type": "object", "required": _DOC_REQUIRED + ["score", "snippets", "matched_pages", "partial"],
            "properties": {**_document_properties(False), "score": {"type": ["number", "null"]},
                           "snippets": {"type": "array", "items": _ref("Snippet")},
                           "matched_pages": {"type": "array", "items": {"type": "integer"}},
                           "partial": {"type": "boolean"}}},
    "SearchResult": {"type": "object",
                     "required": ["total", "page", "per_page", "query_ms", "hits", "facets", "sort", "query"],
                     "properties": {
                         "total": {"type": "integer", "minimum": 0,
                                   "description": "documents holding every word (filters applied)"},
                         "partial_total": {"type": "integer", "minimum": 0,
                                           "description": "documents holding only some of the words; "
                                                          "page 1 lists some of them after the full matches"},
                         "content_hidden": {"type": "boolean"},
                         "page": {"type": "integer", "minimum": 1},
                         "per_page": {"type": "integer", "minimum": 1}, "query_ms": {"type": "number"},
                         "sort": {"enum": ["relevance", "date", "date_asc"]},
                         "query": {"type": "object", "required": ["text", "filters"],
                                   "properties": {"text": {"type": "string"}, "filters": {"type": "object"}}},
                         "hits": {"type": "array", "items": _ref("Hit")},
                         "facets": {"type": "object", "required": ["field", "code", "stage", "type", "year"],
                                    "properties": {k: _counts for k in ("field", "code", "stage", "type", "year")}}}},
    "Page": {"type": "object", "required": ["document_id", "number", "text", "has_text", "ocr", "ocr_confidence"],
             "properties": {"document_id": {"type": "string"}, "number": {"type": "integer", "minimum": 1},
                            "text": {"type": "string"}, "has_text": {"type": "boolean"}, "ocr": {"type": "boolean"},
                            "ocr_confidence": {"type": ["number", "null"]},
                            "ocr_rotation": {"type": ["integer", "null"], "description": "degrees turned clockwise"},
                            "ocr_skew": {"type": ["number", "null"], "description": "degrees straightened"},
                            "marks": {"type": "array", "items": {
                                "type": "object", "required": ["start", "end"],
                                "properties": {"start": {"type": "integer"}, "end": {"type": "integer"}}}}}},
    "SimilarDocuments": {"type": "object", "required": ["document_id", "hits"], "properties": {
        "document_id": {"type": "string"},
        "hits": {"type": "array", "items": {
            "type": "object", "required": _DOC_REQUIRED + ["score"],
            "properties": {**_document_properties(False), "score": {"type": "number"}},
            "description": "document objects without the findings' statements, with a similarity score"}}}},
    "UploadStatus": {"type": "object", "required": ["sha256", "filename", "size", "uploaded_at", "status"],
                     "properties": {
                         "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "filename": {"type": "string"},
                         "size": {"type": "integer"}, "uploaded_at": {"type": "string", "format": "date-time"},
                         "status": {"enum": ["pending", "ingested", "failed"]},
                         "document_id": {"type": "string"}, "reason": {"type": "string"},
                         "message": {"type": "string"}}},
    "UploadResult": {"type": "object", "required": ["uploads"], "properties": {
        "uploads": {"type": "array", "items": {"oneOf": [
            {"allOf": [_ref("UploadStatus")], "required": ["duplicate", "status_url"],
             "properties": {"duplicate": {"type": "boolean"}, "status_url": {"type": "string"}}},
            {"type": "object", "required": ["filename", "error"],
             "properties": {"filename": _str_or_null, "error": {
                 "type": "object", "required": ["code", "message"],
                 "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}]}}}},
    "Stats": {"type": "object", "required": ["overview", "by_year", "by_field_year", "findings_by_clause",
                                             "busiest_codes"], "properties": {
        "overview": {"type": "object", "additionalProperties": {"type": "integer"}},
        "by_year": {"type": "array", "items": {"type": "object", "required": ["year", "documents"]}},
        "by_field_year": {"type": "object", "required": ["years", "fields", "totals"]},
        "findings_by_clause": {"type": "array", "items": {
            "type": "object", "required": ["clause", "field", "label", "findings", "major", "fields"]}},
        "busiest_codes": {"type": "array", "items": {
            "type": "object", "required": ["code", "name", "documents", "organisations"]}}}},
}


_MATCH = {"type": "object", "required": ["code", "name", "level", "score"], "properties": {
    "code": {"type": "string", "pattern": r"^\d{2}(\.\d{2}){0,2}$"}, "name": {"type": ["string", "null"]},
    "level": {"enum": ["major", "middle", "minor"]}, "table": {"enum": ["2020", "legacy"]},
    "score": {"type": "number"}}}
_AUDIT_BRIEF = {"type": "object", "required": ["stage", "start", "end", "missing"], "properties": {
    "stage": _nullable_enum(STAGES), "start": _str_or_null, "end": _str_or_null,
    "missing": {"type": "array", "items": {"type": "string"}}}}
_CASE_CORE = {"id": {"type": "string"}, "org": {"type": "object", "required": ["name"]},
              "fields": {"type": "array", "items": {"enum": FIELDS}}, "cycle": {"type": "integer", "minimum": 1},
              "start": _str_or_null, "end": _str_or_null, "codes": {"type": "array", "items": {"type": "string"}},
              "scope": _str_or_null, "cert_nos": {"type": "array", "items": {"type": "string"}},
              "complete": {"type": "boolean"}, "missing": {"type": "array"},
              "previous": _str_or_null, "next": _str_or_null}
_POINT = {"type": "array", "items": {"type": "object", "required": ["point", "count"]}}

SCHEMAS.update({
    "CaseList": {"type": "object", "required": ["query", "cases"], "properties": {
        "query": {"type": "string"},
        "cases": {"type": "array", "items": {"type": "object", "required": list(_CASE_CORE) + ["audits"],
                                             "properties": {**_CASE_CORE, "audits": {"type": "array",
                                                                                       "items": _AUDIT_BRIEF}}}}}},
    "CaseSummary": {"type": "object", "required": ["case", "summary", "key_control_points", "audit_points",
                                                   "laws_and_standards", "similar"], "properties": {
        "case": {"type": "object", "required": list(_CASE_CORE) + ["audits"], "properties": {
            **_CASE_CORE, "audits": {"type": "array", "items": {"type": "object", "required": [
                "stage", "start", "end", "documents", "team", "findings", "decision", "certificates",
                "required", "missing"]}}}},
        "summary": {"type": "array", "items": {"type": "object", "required": ["sentence", "doc_id", "score"]}},
        "key_control_points": _POINT, "audit_points": _POINT, "laws_and_standards": _POINT,
        "similar": {"type": "array", "items": {"type": "object", "required": ["org", "doc_id", "score"]}}}},
    "CodeInfo": {"type": "object", "required": ["code", "name", "level", "table", "parents", "children",
                                                "counterpart"], "properties": {
        "code": {"type": "string"}, "name": {"type": ["string", "null"]},
        "level": {"enum": ["major", "middle", "minor"]}, "table": {"enum": ["2020", "legacy"]},
        "parents": {"type": "array"}, "children": {"type": "array"},
        "counterpart": {"type": "object", "required": ["table", "same_number", "equivalents"]}}},
    "ScopeQuery": {"type": "object", "required": ["query", "kind", "matches"], "properties": {
        "query": {"type": "string"}, "kind": {"enum": ["code", "words", "text"]},
        "matches": {"type": "array", "items": _MATCH}}},
    "CodeProfile": {"type": "object", "required": ["code", "table", "info", "organisations", "cases", "audits",
                                                   "auditors", "nonconformities", "key_control_points",
                                                   "laws_and_standards"], "properties": {
        "code": {"type": "string"}, "table": {"enum": ["2020", "legacy"]},
        "auditors": {"type": "array", "items": {"type": "object", "required": ["name", "reg_no", "audits"]}},
        "nonconformities": {"type": "array", "items": {"type": "object",
                                                       "required": ["field", "clause", "count", "examples"]}}}},
    "Matching": {"type": "object", "required": ["formula", "weights", "as_of", "since", "codes", "flagged"],
                 "properties": {
                     "formula": {"type": "string"}, "weights": {"type": "object"},
                     "codes": {"type": "array", "items": {"type": "object", "required": [
                         "code", "name", "X", "Y", "P", "flagged", "A1", "A2", "B2", "C2", "D", "E", "auditors"],
                         "properties": {"X": {"type": "number"}, "Y": {"type": "number"},
                                        "P": {"type": ["number", "null"]}, "flagged": {"type": "boolean"}}}},
                     "flagged": {"type": "array", "items": {"type": "string"}}}},
    "ScopeSuggestion": {"type": "object", "required": ["text", "matches"], "properties": {
        "text": {"type": "string"}, "matches": {"type": "array", "items": _MATCH}}},
})


def _param(name: str, description: str, schema: dict[str, Any] | None = None, where: str = "query",
           required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path", "description": description,
            "schema": schema or {"type": "string"}}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


_ERRORS = {"400": _json("Error", "the request cannot be read (a malformed query, a bad parameter)"),
           "401": _json("Error", "no token, or a token that is not valid"),
           "403": _json("Error", "the token's user lacks the permission (viewers never read originals)"),
           "404": _json("Error", "no such document, page or upload")}
_DOC_ID = _param("doc_id", "the document's id (SHA-256 of its file)", where="path")

PATHS: dict[str, Any] = {
    "/search": {"get": {
        "summary": "Full-text search with filters, facets and highlighted snippets", "operationId": "search",
        "parameters": [
            _param("q", "the query language of the README: words (AND), OR, NOT, \"phrases\", filters"),
            _param("code", "specialty code or prefix (17, 17.10, 17.10.02)"),
            _param("field", "certification field (QMS, EMS, … or 质量管理体系)"),
            _param("stage", "audit stage (stage1 … recertification, or 一阶段, 监一)"),
            _param("type", "document type (ncr, audit_report, …)"), _param("org", "organisation, full or short name"),
            _param("clause", "standard clause or prefix (8.5)"), _param("year", "year or range (2019-2023)"),
            _param("cert", "certificate number"), _param("date", "date range 2023-01-01..2023-06-30"),
            _param("sort", "relevance (default), date or date_asc",
                   {"enum": ["relevance", "date", "date_asc"]}),
            _param("page", "page, from 1", {"type": "integer", "minimum": 1}),
            _param("per_page", "hits a page (1–100, default 10)", {"type": "integer", "minimum": 1, "maximum": 100})],
        "responses": {"200": _json("SearchResult", "hits, facets and timing"), **_ERRORS}}},
    "/documents": {"post": {
        "summary": "Upload PDFs: stored by content hash, ingested and indexed in the background",
        "operationId": "upload",
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "properties": {"file": {"type": "array", "items": {
                "type": "string", "format": "binary"}}}}}}},
        "responses": {"202": _json("UploadResult", "accepted: follow status_url"),
                      "400": _json("Error", "nothing accepted (not a PDF, empty, no file)"),
                      "401": _ERRORS["401"], "403": _ERRORS["403"], "413": _json("Error", "too large")}}},
    "/uploads/{sha256}": {"get": {
        "summary": "What became of an upload: pending, ingested (with its document id) or failed (with why)",
        "operationId": "uploadStatus",
        "parameters": [_param("sha256", "the upload's content hash", where="path")],
        "responses": {"200": _json("UploadStatus", "the status"), **_ERRORS}}},
    "/documents/{doc_id}": {"get": {
        "summary": "One document object", "operationId": "getDocument", "parameters": [_DOC_ID],
        "responses": {"200": _json("Document", "the document"), **_ERRORS}}},
    "/documents/{doc_id}/pages/{n}": {"get": {
        "summary": "A page's text (with the matches of q marked), or ?format=png its rendering",
        "operationId": "getPage",
        "parameters": [_DOC_ID, _param("n", "page number from 1", {"type": "integer"}, where="path"),
                       _param("format", "json (default) or png", {"enum": ["json", "png"]}),
                       _param("q", "a query whose matches on this page are returned as marks"),
                       _param("scale", "png scale, 0.5–3 (default 1.5)", {"type": "number"})],
        "responses": {"200": {"description": "the page", "content": {
            "application/json": {"schema": _ref("Page")}, "image/png": {"schema": {"type": "string",
                                                                                  "format": "binary"}}}},
            **_ERRORS, "422": _json("Error", "the original cannot be rendered")}}},
    "/documents/{doc_id}/similar": {"get": {
        "summary": "The documents most like this one (more-like-this)", "operationId": "similarDocuments",
        "parameters": [_DOC_ID], "responses": {"200": _json("SimilarDocuments", "similar documents"), **_ERRORS}}},
    "/documents/{doc_id}/file": {"get": {
        "summary": "Download the original PDF", "operationId": "getFile", "parameters": [_DOC_ID],
        "responses": {"200": {"description": "the original", "content": {"application/pdf": {
            "schema": {"type": "string", "format": "binary"}}}}, **_ERRORS}}},
    "/stats": {"get": {
        "summary": "Figures about the archive: totals, by year and field, findings by clause, busiest codes",
        "operationId": "stats", "responses": {"200": _json("Stats", "statistics"), "401": _ERRORS["401"],
                                              "403": _ERRORS["403"]}}},
}


PATHS.update({
    "/cases": {"get": {
        "summary": "Cases (organisation × fields × three-year cycle) matching an organisation, credit code, "
                   "certificate number or case id", "operationId": "findCases",
        "parameters": [_param("q", "organisation name (or part), credit code, certificate number or case id",
                              required=True)],
        "responses": {"200": _json("CaseList", "the cases, with each audit's missing records"), **_ERRORS}}},
    "/cases/{case_id}": {"get": {
        "summary": "A case: timeline of audits, completeness, extractive summary, key control points, "
                   "audit points, laws and standards, similar cases", "operationId": "getCase",
        "parameters": [_param("case_id", "the case id", where="path")],
        "responses": {"200": _json("CaseSummary", "the case summary"), **_ERRORS}}},
    "/scopes/{code}": {"get": {
        "summary": "A specialty code: name, level, parents, children, counterpart in the other table",
        "operationId": "getScope",
        "parameters": [_param("code", "17, 17.10 or 17.10.02", where="path"),
                       _param("table", "2020 (default) or legacy", {"enum": ["2020", "legacy"]})],
        "responses": {"200": _json("CodeInfo", "the code"), **_ERRORS}}},
    "/scopes/{code}/profile": {"get": {
        "summary": "What the archive knows about a code: organisations, cases, audits, the auditors who "
                   "audited it, frequent nonconformity clauses with examples, key control points, laws",
        "operationId": "codeProfile",
        "parameters": [_param("code", "17, 17.10 or 17.10.02 (a prefix covers the codes below it)", where="path"),
                       _param("table", "2020 (default) or legacy", {"enum": ["2020", "legacy"]})],
        "responses": {"200": _json("CodeProfile", "the code's profile"), **_ERRORS}}},
    "/matching": {"get": {
        "summary": "匹配度 per code: auditor sufficiency X, project difficulty Y, P = k·X/Y, flagged below the "
                   "threshold (weights set by an admin in the UI)", "operationId": "matching",
        "parameters": [_param("code", "limit to these codes (repeatable); default every code of the archive")],
        "responses": {"200": _json("Matching", "X, Y and P per code, lowest P first"), **_ERRORS}}},
    "/scopes": {"get": {
        "summary": "Codes for a code, words or a scope text (认证范围 wording), best first",
        "operationId": "queryScopes", "parameters": [_param("q", "a code, words or a scope text", required=True)],
        "responses": {"200": _json("ScopeQuery", "matching codes"), **_ERRORS}}},
    "/scopes/suggest": {"post": {
        "summary": "Suggested codes for a scope text, from a model trained on the archive's own scopes",
        "operationId": "suggestScopes",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["text"], "properties": {
                "text": {"type": "string", "minLength": 1, "maxLength": 2000},
                "limit": {"type": "integer", "minimum": 1, "maximum": 50}}}}}},
        "responses": {"200": _json("ScopeSuggestion", "suggested codes with scores"),
                      "400": _ERRORS["400"], "401": _ERRORS["401"], "403": _ERRORS["403"]}}},
})


def openapi_document() -> dict[str, Any]:
    """The whole OpenAPI document (served at /api/v1/openapi.json, without a token)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "auditarchive API", "version": "1.0.0",
                 "description": "Search and read the audit archive of a certification body "
                                "(认证机构审核档案). Every endpoint but this document needs "
                                "`Authorization: Bearer <token>` (`auditarchive tokens create USER`); the "
                                "token acts with its user's role: viewers search and read metadata, "
                                "auditors also read pages, download originals and upload; admins "
                                "manage users."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": PATHS,
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


_BINARY = {"schema": {"type": "string", "format": "binary"}}
PATHS.update({
    "/exports/training": {"get": {
        "summary": "A training pack (培训资料) for a specialty code or a certification field: hierarchy and "
                   "description, figures, typical processes, key control points, audit points and methods, "
                   "laws and standards cited, frequent nonconformities by clause, representative cases, the "
                   "auditors experienced in it (left out when anonymised); needs the export permission",
        "operationId": "exportTraining",
        "parameters": [_param("code", "17, 17.10 or 17.10.02 (a prefix covers the codes below it); or field"),
                       _param("field", "certification field (QMS, EMS, … or 质量管理体系); or code"),
                       _param("format", "docx (default), xlsx or md", {"enum": ["docx", "xlsx", "md"]}),
                       _param("anonymise", "1: organisations, credit codes, certificate numbers, addresses and "
                                           "people replaced by placeholders (组织A, 人员甲)",
                              {"enum": ["0", "1", "true", "false"]}),
                       _param("table", "code table: 2020 (default) or legacy", {"enum": ["2020", "legacy"]})],
        "responses": {"200": {"description": "the pack, as an attachment", "content": {
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _BINARY,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _BINARY,
            "text/markdown": {"schema": {"type": "string"}}}},
            "400": _ERRORS["400"], "401": _ERRORS["401"], "403": _ERRORS["403"],
            "404": _json("Error", "no such code in the table")}}},
})
