"""The OpenAPI document is the API: every endpoint fuzzed from it (schemathesis generates the requests) against the
running API answers no 5xx, with a status and a content type the document names."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from web.openapi import document
from tests.conftest import TOKEN

pytestmark = pytest.mark.broker
DOC = document()
schema = schemathesis.openapi.from_dict(DOC)


def test_the_document_describes_every_api_route(stack):
    """Each route of the API in the route table is in the served document, with its method (a route added without
    its description fails here)."""
    from web.app import init_app
    from core.settings import Settings

    with urllib.request.urlopen(stack.url + "/api/v1/openapi.json", timeout=5) as r:
        served = json.loads(r.read())
    app = init_app(Settings(database_url="postgresql://unused/x", kafka_bootstrap="unused:1"))
    import re

    routes = {(r.method.lower(), re.sub(r"\{(\w+):[^}]+\}", r"{\1}", r.resource.canonical)) for r in app.router.routes()
              if r.resource.canonical.startswith("/api/") and r.method in ("GET", "POST")}
    documented = {(m, p) for p, ops in served["paths"].items() for m in ops}
    assert routes <= documented, sorted(routes - documented)


def send(base: str, case) -> tuple[int, str, bytes]:
    """The generated request, sent with the standard library (this machine's urllib3 is replaced by a fork that
    schemathesis's own transport does not support)."""
    query = urllib.parse.urlencode(case.query or {}, doseq=True)
    url = base + case.formatted_path + (f"?{query}" if query else "")
    headers = {k: str(v) for k, v in (case.headers or {}).items() if k.lower() not in ("x-signature", "authorization")}
    headers["Authorization"] = f"Bearer {TOKEN}"
    data = None
    if case.body is not None and type(case.body).__name__ != "NotSet" and case.method.upper() != "GET":
        data = case.body if isinstance(case.body, bytes) else json.dumps(case.body).encode()
        headers.setdefault("Content-Type", case.media_type or "application/json")
    req = urllib.request.Request(url, data=data, method=case.method.upper(), headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_endpoint_answers_within_the_document(case, stack):
    status, ctype, body = send(stack.url, case)
    assert status < 500, (case.method, case.formatted_path, case.query, status, body[:300])
    op = DOC["paths"][case.path].get(case.method.lower())
    if op is None:  # a method the path does not have
        assert status in (404, 405), (case.method, case.path, status)
        return
    assert str(status) in op["responses"], (case.method, case.path, status, body[:300])
    documented = op["responses"][str(status)].get("content", {})
    assert any(ctype.startswith(t) for t in documented), (case.path, status, ctype)
    if ctype.startswith("application/json"):
        json.loads(body)


# what the fuzz left to do: records sent at the edge the workers have not processed yet (as connectors.edge.settle
# reads them), and list changes due that the propagator has not tried yet (those behind an open change of their
# item wait for it, in order)
WAITING = """
SELECT (SELECT count(*) FROM edge_item i WHERE NOT CASE i.kind
          WHEN 'batch' THEN EXISTS (SELECT 1 FROM processed_batch p WHERE p.batch_id = i.key)
          WHEN 'change' THEN EXISTS (SELECT 1 FROM list_change c WHERE c.change_id = i.key)
          WHEN 'staffing' THEN EXISTS (SELECT 1 FROM staffing_delivery s WHERE s.delivery_key = i.key)
          ELSE EXISTS (SELECT 1 FROM dead_letter d WHERE d.dl_key = i.key) END),
       (SELECT count(*) FROM list_sync s WHERE s.attempts = 0 AND s.status = 'pending' AND s.next_attempt_at <= now()
          AND NOT EXISTS (SELECT 1 FROM list_sync p WHERE p.item_code = s.item_code AND p.seq < s.seq
                                                      AND p.status <> 'applied'))
"""


def test_the_worker_and_the_api_outlived_the_fuzz(stack):
    """What the generated requests stored (list changes with any text in them, say) went through the worker: a
    value that breaks an agent would have stopped it (the propagator once did, on a change_id with a control
    character that no HTTP header can carry)."""
    waiting = None
    deadline = time.monotonic() + 60
    with psycopg.connect(stack.settings.database_url, autocommit=True) as c:
        while time.monotonic() < deadline and stack.worker.poll() is None:
            waiting = c.execute(WAITING).fetchone()
            if waiting == (0, 0):
                break
            time.sleep(0.2)
    assert stack.worker.poll() is None, "the worker stopped during the fuzz: see its log"
    assert stack.api.poll() is None
    assert waiting == (0, 0), f"records the worker has not processed, changes the propagator has not tried: {waiting}"
