"""The client the monitor uses to drive the service platform's catalog; endpoints and auth are configuration."""
from __future__ import annotations

from typing import Any, Optional
from urllib.parse import quote

import aiohttp
import yarl

from core.settings import Settings


class PlatformError(Exception):
    """A call the platform did not acknowledge; `retryable` says whether trying again can help."""

    def __init__(self, message: str, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


class PlatformClient:
    def __init__(self, settings: Settings, session: Optional[aiohttp.ClientSession] = None):
        self.base = settings.platform_url.rstrip("/")
        self.paths = settings.platform_paths
        self.timeout = aiohttp.ClientTimeout(total=settings.platform_timeout_seconds)
        token = settings.platform_token.get_secret_value()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._session = session

    async def __aenter__(self) -> "PlatformClient":
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout, headers=self.headers)
        return self

    async def __aexit__(self, *exc) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, op: str, code: str, key: Optional[str], body: Optional[dict] = None) -> Any:
        method, path = self.paths[op].split(" ", 1)
        # a code is one path segment whatever it holds ("/" included): escaped, and sent as it is
        url = yarl.URL(self.base + path.format(code=quote(code, safe="")), encoded=True)
        # a change_id may hold control or non-ASCII characters: percent-encoded always ("%" too, so one-to-one)
        headers = {"Idempotency-Key": quote(key, safe="!#$&'()*+,/:;=?@[]")} if key else {}
        try:
            async with self._session.request(method, url, json=body, headers=headers, timeout=self.timeout) as r:
                text = await r.text()
                if r.status >= 500 or r.status in (408, 429):
                    raise PlatformError(f"{op} {code}: HTTP {r.status}: {text[:200]}")
                if r.status >= 400:
                    raise PlatformError(f"{op} {code}: HTTP {r.status}: {text[:200]}", retryable=r.status in (401, 403))
                return await r.json(content_type=None) if text else None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PlatformError(f"{op} {code}: {type(exc).__name__}: {exc}") from exc
        except ValueError as exc:  # a request that cannot be sent at all (aiohttp refuses it): the same next time
            raise PlatformError(f"{op} {code}: not sent: {exc}", retryable=False) from exc

    async def publish(self, code: str, attrs: dict, key: str) -> Any:
        return await self._call("publish", code, key, attrs)

    async def update(self, code: str, attrs: dict, key: str) -> Any:
        return await self._call("update", code, key, attrs)

    async def withdraw(self, code: str, key: str) -> Any:
        return await self._call("withdraw", code, key)

    async def move(self, code: str, level: str, region_codes: list[str], key: str) -> Any:
        return await self._call("move", code, key, {"level": level, "region_codes": region_codes})

    async def catalog(self) -> list[dict]:
        return await self._call("catalog", "", None)
