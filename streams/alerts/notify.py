"""Notifications: a generic JSON webhook, WeCom and DingTalk group robots, e-mail, and Alertmanager's v2 API;
delivered from an outbox in the database, retried with backoff until sent, never dropped silently."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import smtplib
import time
import urllib.parse
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import aiohttp
import asyncpg

from streams.alerts.engine import group_parts
from streams.alerts.rules import Receiver, RuleFile

log = logging.getLogger(__name__)
ICON = {"firing": "🔴", "repeat": "🔴", "resolved": "✅"}


def text(e: dict[str, Any]) -> tuple[str, str]:
    title = f"{ICON.get(e['kind'], '')} [{e['kind'].upper()}] {e['summary']}"
    value = "—" if e["value"] is None else f"{e['value']:.4g}"
    body = (f"**{title}**\n\n- 規則 rule: {e['rule']}\n- 分組 group: {e['group']}\n"
            f"- {e['indicator']} = {value} ({e['op']} {e['threshold']:g}, {e['window']})\n"
            f"- 級別 severity: {e['severity']}\n- 時間 at: {e['at']}")
    return title, body


def _url(r: Receiver) -> str:
    url = os.environ.get(r.url_env, "") if r.url_env else (r.url or "")
    if not url:
        raise RuntimeError(f"receiver {r.name}: {r.url_env} is not set")
    return url


def request_for(r: Receiver, e: dict[str, Any]) -> tuple[str, Any]:
    """The URL and JSON body a receiver gets for an alert event."""
    title, body = text(e)
    if r.type == "webhook":
        return _url(r), {"version": 1, "source": "shenpi", **e}
    if r.type == "wecom":
        return _url(r), {"msgtype": "markdown", "markdown": {"content": body}}
    if r.type == "dingtalk":
        url = _url(r)
        if r.secret_env:
            ts = str(int(time.time() * 1000))
            secret = os.environ.get(r.secret_env, "")
            sign = base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest())
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"timestamp": ts, "sign": sign.decode()})
        return url, {"msgtype": "markdown", "markdown": {"title": title, "text": body}}
    if r.type == "alertmanager":
        labels = {"alertname": e["rule"], "severity": e["severity"], "service": "shenpi", "indicator": e["indicator"]}
        labels.update(group_parts(e["group"]))
        at = datetime.fromisoformat(e["at"])
        ends = at if e["kind"] == "resolved" else at + timedelta(hours=24)
        alert = {"labels": labels, "annotations": {"summary": e["summary"], "description": body},
                 "startsAt": e.get("fired_at") or e["at"], "endsAt": ends.isoformat()}
        return _url(r).rstrip("/") + "/api/v2/alerts", [alert]
    raise ValueError(r.type)


def send_email(r: Receiver, e: dict[str, Any]) -> None:
    title, body = text(e)
    msg = EmailMessage()
    # a header holds one line: names and requirements written by people may hold line breaks
    msg["Subject"], msg["From"], msg["To"] = " ".join(title.split()), r.sender, ", ".join(r.to)
    msg.set_content(body)
    with smtplib.SMTP(r.smtp_host, r.smtp_port, timeout=10) as smtp:
        if r.username_env:
            smtp.login(os.environ.get(r.username_env, ""), os.environ.get(r.password_env or "", ""))
        smtp.send_message(msg)


async def deliver(http: aiohttp.ClientSession, r: Receiver, e: dict[str, Any]) -> None:
    if r.type == "email":
        await asyncio.to_thread(send_email, r, e)
        return
    url, body = request_for(r, e)
    async with http.post(url, json=body, timeout=aiohttp.ClientTimeout(total=10)) as resp:
        text_ = await resp.text()
        if resp.status >= 300:
            raise RuntimeError(f"HTTP {resp.status}: {text_[:200]}")
        if r.type in ("wecom", "dingtalk") and text_:
            answer = json.loads(text_)
            if answer.get("errcode", 0) != 0:
                raise RuntimeError(f"robot refused: {answer}")


async def deliver_due(conn: asyncpg.Connection, http: aiohttp.ClientSession, rules: RuleFile,
                      max_backoff: float = 300.0) -> tuple[int, int]:
    """Send what is due from the outbox; returns (sent, failed)."""
    receivers = {r.name: r for r in rules.receivers}
    due = await conn.fetch(
        "SELECT id, receiver, payload::text AS payload, attempts FROM alert_notification"
        " WHERE status <> 'sent' AND next_attempt_at <= now() ORDER BY id LIMIT 200")
    sent = failed = 0
    for n in due:
        r = receivers.get(n["receiver"])
        try:
            if r is None:
                raise RuntimeError(f"receiver {n['receiver']!r} is no longer configured")
            await deliver(http, r, json.loads(n["payload"]))
        except Exception as exc:  # any failure is recorded and retried
            failed += 1
            delay = min(max_backoff, 2 ** min(n["attempts"], 16))
            await conn.execute(
                "UPDATE alert_notification SET status = 'failed', attempts = attempts + 1, last_error = $2,"
                " next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1",
                n["id"], f"{type(exc).__name__}: {exc}"[:500], float(delay))
            log.warning("notification %s to %s failed: %s", n["id"], n["receiver"], exc)
        else:
            sent += 1
            await conn.execute("UPDATE alert_notification SET status = 'sent', attempts = attempts + 1,"
                               " sent_at = now() WHERE id = $1", n["id"])
    return sent, failed
