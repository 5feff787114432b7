"""The API's OpenAPI 3.1 document, from the same pydantic models the API validates with: GET /api/v1/openapi.json."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from schemas import CaseEvent, ListChange
from schemas.demands import Demand
from schemas.staffing import StaffingChange
from streams.indicators.definitions import GUARDS, INDICATORS
from streams.indicators.window import GROUP_KEYS
from web.common import PUBLIC, route

TIME = {"type": "string", "description": "a local date YYYY-MM-DD or an ISO 8601 time (1970 .. 2200)"}
OBJ = {"application/json": {"schema": {"type": "object"}}}
TEXT = {"text/plain": {"schema": {"type": "string"}}}
XLSX = {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string",
                                                                                      "format": "binary"}}}


def _q(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


SHEET = _q("format", {"type": "string", "enum": ["json", "xlsx"]}, "xlsx: a workbook (names beside codes)")


def _get(summary: str, params: list[dict], extra: dict | None = None) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": params, "security": [{"bearer": []}], "responses": {
        "401": {"description": "credentials required", "content": TEXT},
        "403": {"description": "not for this caller's role or region scope", "content": TEXT},
        "200": {"description": "the answer", "content": {**OBJ, **(extra or {})}},
        "400": {"description": "a parameter the caller got wrong, with the reason", "content": TEXT},
        "404": {"description": "not found", "content": TEXT},
        "429": {"description": "too many reads at once from this caller", "content": TEXT},
        "503": {"description": "the database is unreachable or the query ran too long", "content": TEXT}}}}


def _write(summary: str, body: dict[str, Any], signed: bool = False) -> dict[str, Any]:
    """A write; only the platform's event posts may be signed instead of carrying a bearer token."""
    return {"post": {"summary": summary, "security": [{"bearer": []}, *([{"signature": []}] if signed else [])],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
                     "responses": {k: {"description": d, "content": OBJ if k in ("200", "201", "207", "422") else TEXT}
                                   for k, d in (("200", "all accepted"), ("201", "created"), ("207", "some refused"),
                                                ("422", "none accepted"), ("400", "bad request"),
                                                ("401", "bad credentials"), ("403", "not allowed to this caller"),
                                                ("404", "not found"), ("408", "the body came too slowly"),
                                                ("409", "already decided"), ("413", "the body is too large"),
                                                ("503", "cannot record it now: retry"))}}}


def document() -> dict[str, Any]:
    defs: dict[str, Any] = {}

    def ref(model) -> dict[str, Any]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        defs.update(schema.pop("$defs", {}))
        defs[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    one_or_many = lambda m: {"oneOf": [ref(m), {"type": "array", "items": ref(m)}]}  # noqa: E731
    limit = {"type": "integer", "minimum": 1, "maximum": 100000}
    paths = {
        "/api/v1/case-events": _write("case events in (a JSON array, one object, or NDJSON)", one_or_many(CaseEvent),
                                      signed=True),
        "/api/v1/list-changes": _write("power-list changes in", one_or_many(ListChange), signed=True),
        "/api/v1/indicators": _get("the 14 indicators and the guard figures, one row per group", [
            _q("from", TIME), _q("to", TIME),
            _q("group_by", {"type": "string"}, f"comma-separated: any of {', '.join(GROUP_KEYS)}"),
            _q("format", {"type": "string", "enum": ["json", "csv", "xlsx"]}),
            _q("components", {"type": "string", "enum": ["1", "true"]})], {"text/csv": {"schema": {"type": "string"}},
                                                                           **XLSX}),
        "/api/v1/status": _get("reconciliation totals", []),
        "/api/v1/list/items": _get("the list as of a time", [
            _q("as_of", {"type": "string", "format": "date-time"}), _q("item_code", {"type": "string"}),
            _q("active", {"type": "string", "enum": ["true", "false"]}), _q("limit", limit), SHEET], XLSX),
        "/api/v1/list/items/{code}": {"get": {**_get("an item's history", [])["get"], "parameters": [
            {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}]}},
        "/api/v1/list/sync": _get("propagation to the platform", [
            _q("status", {"type": "string", "enum": ["pending", "failed", "parked", "applied"]}),
            _q("item_code", {"type": "string"}), _q("limit", {**limit, "maximum": 10000})]),
        "/api/v1/alerts": _get("alert state, history, outbox", [_q("limit", {**limit, "maximum": 10000})]),
        "/api/v1/analysis/chains": _get("service chains", [
            _q("from", TIME), _q("to", TIME), _q("min_support", {"type": "integer", "minimum": 1}),
            _q("max_span_days", {"type": "number", "exclusiveMinimum": 0}),
            _q("min_confidence", {"type": "number", "minimum": 0, "maximum": 1}),
            _q("min_lift", {"type": "number", "minimum": 0})]),
        "/api/v1/analysis/recommendations": _get("reform recommendations", [
            _q("from", TIME), _q("to", TIME), _q("devolve_min_volume", {"type": "integer", "minimum": 1}),
            _q("top", {"type": "integer", "minimum": 1}), _q("merge_min_support", {"type": "integer", "minimum": 1}),
            _q("merge_max_gap_days", {"type": "number", "exclusiveMinimum": 0}),
            _q("simplify_min_complaints", {"type": "integer", "minimum": 1}),
            _q("simplify_ratio", {"type": "number", "exclusiveMinimum": 0})]),
        "/api/v1/analysis/compare": _get("regions compared for an item or a department", [
            _q("item", {"type": "string"}), _q("department", {"type": "string"}), _q("from", TIME), _q("to", TIME),
            _q("min_volume", {"type": "integer", "minimum": 0})]),
    }
    text_path = lambda name: [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}]  # noqa
    from streams.indicators.cases import FIGURES

    paths["/api/v1/cases"] = _get("the cases behind a figure: its predicate, window and scope (JSON or CSV)", [
        {**_q("figure", {"type": "string", "enum": list(FIGURES)}), "required": True}, _q("from", TIME),
        _q("to", TIME), _q("region_code", {"type": "string"}), _q("department_code", {"type": "string"}),
        _q("item_code", {"type": "string"}), _q("limit", {"type": "integer", "minimum": 1, "maximum": 10000}),
        _q("offset", {"type": "integer", "minimum": 0}),
        _q("format", {"type": "string", "enum": ["json", "csv", "xlsx"]})], {"text/csv": {"schema": {"type": "string"}},
                                                                             **XLSX})
    paths["/api/v1/openapi.json"] = {"get": {"summary": "this document", "security": [], "parameters": [],
                                             "responses": {"200": {"description": "the document", "content": OBJ},
                                                           "429": {"description": "too many requests from this"
                                                                                  " address", "content": TEXT}}}}
    paths["/api/v1/staffing-changes"] = _write("staffing changes in (機構編制變更; an id_number is hashed at once)",
                                               one_or_many(StaffingChange), signed=True)
    paths["/api/v1/demands"] = _write("demands in (企業群眾訴求; the requester is hashed, phones and ids in the text"
                                      " masked at once)", one_or_many(Demand), signed=True)
    defs["Demand"]["properties"]["requester"] = {"type": "string", "description": "a name, phone or account: hashed"}
    when = {"type": "string", "description": "a date (local midnight) or an ISO 8601 time"}
    paths["/api/v1/demands/figures"] = _get("demands figures per group over [from, to) in the caller's regions", [
        {**_q("from", when), "required": True}, {**_q("to", when), "required": True},
        _q("by", {"type": "string", "enum": ["item", "department", "region", "topic", "channel"]}),
        _q("region", {"type": "string", "pattern": "^([0-9]{6}|[0-9]{9}|[0-9]{12})$"}, "only demands raised here")])
    link_op = _write("link a demand by hand to an item in force in its region (supervisors, list administrators)",
                     {"type": "object", "required": ["item"], "properties": {"item": {
                         "type": "string", "description": "the item's code, or its name in either script"}}})
    link_op["post"]["parameters"] = text_path("id")
    paths["/api/v1/demands/{id}/link"] = link_op
    region = _q("region", {"type": "string", "pattern": "^([0-9]{6}|[0-9]{9}|[0-9]{12})$"}, "only units of this region and below")
    paths["/api/v1/org/figures"] = _get("approved against actual per unit and quota kind; posts per level", [
        _q("as_of", when), region, _q("unit", {"type": "string"}), _q("from", when), _q("to", when), SHEET], XLSX)
    paths["/api/v1/org/findings"] = _get("the findings as of a time (duty checks over from..to)", [
        _q("as_of", when), region, _q("unit", {"type": "string"}), _q("from", when), _q("to", when),
        _q("kind", {"type": "string"}), _q("min_volume", {"type": "integer", "minimum": 0}),
        _q("min_on_time", {"type": "number", "minimum": 0, "maximum": 1}), SHEET], XLSX)
    paths["/api/v1/org/search"] = _get("documents and duty clauses by Chinese words", [
        {**_q("q", {"type": "string", "minLength": 1, "maxLength": 100}), "required": True},
        _q("limit", {"type": "integer", "minimum": 1, "maximum": 500})])
    paths["/api/v1/org/units/{code}"] = {"get": {**_get("a unit as it stood", [_q("as_of", when)])["get"],
                                                 "parameters": [*text_path("code"), _q("as_of", when)]}}
    paths["/api/v1/org/units/{code}/history"] = {"get": {**_get("歷史沿革: every version with its document",
                                                                [])["get"], "parameters": text_path("code")}}
    paths["/api/v1/org/units/{code}/diff"] = {"get": {**_get("the unit at a against b", [])["get"], "parameters": [
        *text_path("code"), {**_q("a", when), "required": True}, _q("b", when)]}}
    int_path = lambda name: [{"name": name, "in": "path", "required": True,  # noqa: E731
                               "schema": {"type": "integer", "minimum": 0}}]
    paths.update(_archive(int_path, region))
    paths["/api/v1/evaluations"] = {
        **_write("evaluate a unit over a period (supervisors)", {"type": "object", "required": [
            "unit_code", "from", "to", "type"], "properties": {"unit_code": {"type": "string"}, "from": when, "to": when,
                                                                "type": {"type": "string", "enum": ["执行情况", "使用效益"]}}}),
        **_get("evaluations in the caller's regions", [_q("unit", {"type": "string"}), SHEET], XLSX)}
    paths["/api/v1/evaluations/{id}"] = {"get": {**_get("an evaluation as made: indicators, score, rank, previous",
                                                        [])["get"], "parameters": [*int_path("id"),
                                                                                   _q("inputs", {"enum": ["1"]})]}}
    score_op = _write("a person's score for a manual indicator", {"type": "object", "required": ["code", "value"],
                      "properties": {"code": {"type": "string"}, "value": {"type": "number"},
                                     "note": {"type": "string"}}})
    score_op["post"]["parameters"] = int_path("id")
    paths["/api/v1/evaluations/{id}/scores"] = score_op
    paths["/api/v1/evaluations/{id}/report.pdf"] = {"get": {**_get("the report, printed to PDF and archived", [], {
        "application/pdf": {"schema": {"type": "string", "format": "binary"}}})["get"], "parameters": int_path("id")}}
    paths["/api/v1/rectifications"] = {
        **_write("open a rectification task (supervisors)", {"type": "object", "required": ["unit_code", "text", "days"],
                 "properties": {"unit_code": {"type": "string"}, "finding": {"type": "string"},
                                "subject": {"type": "string"}, "evaluation_id": {"type": "integer"},
                                "text": {"type": "string"}, "days": {"type": "integer", "minimum": 1}}}),
        **_get("tasks in the caller's regions", [
            _q("state", {"type": "string", "enum": ["open", "in_progress", "submitted", "returned", "verified",
                                                    "closed"]}),
            _q("unit", {"type": "string"}), _q("overdue", {"type": "string", "enum": ["true", "false"]}),
            _q("mine", {"type": "string", "enum": ["1", "true"]}), SHEET], XLSX)}
    paths["/api/v1/rectifications/{id}"] = {"get": {**_get("a task with its transitions and evidence", [])["get"],
                                                    "parameters": int_path("id")}}
    act_op = _write("a transition (start, submit with evidence, verify, return with a reason, close)",
                    {"type": "object", "properties": {"reason": {"type": "string"}, "text": {"type": "string"},
                                                      "files": {"type": "array", "items": {"type": "object"}}}})
    act_op["post"]["parameters"] = [*int_path("id"), {"name": "action", "in": "path", "required": True, "schema": {
        "type": "string", "enum": ["start", "submit", "verify", "return", "close"]}}]
    paths["/api/v1/rectifications/{id}/{action}"] = act_op
    paths["/api/v1/list/drafts"] = {
        **_write("draft a list change (list administrators): {change: {...}} or {recommendation: {...}}",
                 {"type": "object", "properties": {"change": {"type": "object"}, "recommendation": {"type": "object"},
                                                   "evidence": {}, "effective_at": {"type": "string"}}}),
        **_get("drafts", [_q("status", {"type": "string", "enum": ["draft", "rejected", "published"]}),
                          _q("limit", limit)])}
    paths["/api/v1/list/drafts/{id}"] = {"get": {**_get("a draft", [])["get"], "parameters": text_path("id")}}
    paths["/api/v1/list/drafts/{id}/effect"] = {"get": {**_get("a published change's figures before and after",
                                                               [])["get"], "parameters": text_path("id")}}
    paths["/api/v1/list/items/{code}/trail"] = {"get": {**_get("an item's changes, draft to platform", [])["get"],
                                                        "parameters": text_path("code")}}
    for act, what in (("approve", "approve another administrator's draft"), ("reject", "reject a draft, with a reason")):
        op = _write(what, {"type": "object", "properties": {"reason": {"type": "string"}}})
        op["post"]["parameters"] = text_path("id")
        paths[f"/api/v1/list/drafts/{{id}}/{act}"] = op
    for path, what, param in (("/api/v1/list/import-sheet", "a workbook of the power list: the row report and the drafts"
                               " it asks for (list administrators)", _q("region", {"type": "string",
                                                                                   "pattern": "^(\\d{6}|\\d{9})$"})),
                              ("/api/v1/org/import-sheet", "a roster workbook (实名制名册) as of a date: the row report"
                               " and the staff changes proposed", _q("as_of", {"type": "string"}))):
        op = _write(what, {})
        op["post"]["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}}}}
        op["post"]["parameters"] = [param]
        paths[path] = op
    for act, what in (("ack", "acknowledge"), ("silence", "silence (seconds: 1 .. 2678400)")):
        op = _write(f"{what} an alert", {"type": "object", "properties": {
            "by": {"type": "string", "maxLength": 200}, "seconds": {"type": "number"}}})
        op["post"]["parameters"] = [{"name": "id", "in": "path", "required": True,
                                     "schema": {"type": "integer", "minimum": 0}}]
        paths[f"/api/v1/alerts/{{id}}/{act}"] = op
    paths["/api/v1/org/proposals"] = _get("proposals of staffing changes in the caller's regions", [
        _q("status", {"type": "string", "enum": ["proposed", "published", "rejected"]}), _q("unit", {"type": "string"}),
        _q("limit", {"type": "integer", "minimum": 1, "maximum": 1000})])
    paths["/api/v1/org/proposals/{id}"] = {"get": {**_get("a proposal: changes, unsure, diff, would_open, would_close,"
                                                          " trail", [])["get"], "parameters": text_path("id")}}
    for act, what, body in (
            ("edit", "replace a proposal's changes (checks computed again)", {"type": "object", "required": ["changes"],
                                                                             "properties": {"changes": {"type": "array",
                                                                                            "items": {"type": "object"}},
                                                                                            "effective_at": when}}),
            ("approve", "approve (another person than the uploader and the last editor): published once", {"type": "object"}),
            ("reject", "reject, with a reason", {"type": "object", "properties": {"reason": {"type": "string"}}})):
        op = _write(what, body)
        op["post"]["parameters"] = text_path("id")
        paths[f"/api/v1/org/proposals/{{id}}/{act}"] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "shenpi: approvals and the power list", "version": "1",
                 "description": f"Indicators: {', '.join(INDICATORS)}; guard figures: {', '.join(GUARDS)}."},
        "paths": paths,
        "components": {"schemas": defs, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "signature": {"type": "apiKey", "in": "header", "name": "X-Signature",
                          "description": "sha256=<hex HMAC-SHA256 of 'X-Timestamp\\nMETHOD\\npath\\n' + body>"}}},
    }


def _archive(int_path, region) -> dict[str, Any]:
    """The archive's documents (數字檔案館)."""
    upload = _write("a document in as it is (.docx, .pdf, .png/.jpg/.tif, .txt, .doc/.wps): checked whole, kept by"
                    " SHA-256, read by the workers; 201 new, 200 the same file again, 422 refused with the reason",
                    {"type": "object"})
    upload["post"]["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary"}, "doc_no": {"type": "string"},
            "unit_code": {"type": "string"}, "doc_type": {"type": "string"}}}}}}
    year = {"type": "integer", "minimum": 1900, "maximum": 2200}
    original = _get("the original bytes, checked against their SHA-256", [],
                    {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}})["get"]
    return {
        "/api/v1/org/documents": {**upload, **_get("the documents, newest first", [
            _q("unit", {"type": "string"}), region, _q("limit", {"type": "integer", "minimum": 1, "maximum": 10000})])},
        "/api/v1/org/documents/search": _get("全文檢索 in either script, \"phrases\", ranked, page and marked snippet", [
            {**_q("q", {"type": "string", "minLength": 1, "maxLength": 100}), "required": True},
            _q("unit", {"type": "string"}), _q("type", {"type": "string"}), _q("from", year), _q("to", year), region,
            _q("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
            _q("offset", {"type": "integer", "minimum": 0})]),
        "/api/v1/org/documents/{id}": {"get": {**_get("a document with its pages and fields' spans", [])["get"],
                                               "parameters": int_path("id")}},
        "/api/v1/org/documents/{id}/original": {"get": {**original, "parameters": int_path("id")}},
    }


async def get_openapi(request: web.Request) -> web.Response:
    return web.json_response(document())


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/api/v1/openapi.json", get_openapi, PUBLIC)
