"""A small asyncio HTTP/1.1 client and the latency tally of the load benchmark (bench/load.py).

Why not a library: the load and the server share this machine's two cores, so the client
must cost as little CPU as possible. One keep-alive connection per simulated user, requests
written in one call, responses read by Content-Length (or chunks): no parsing beyond the
status line and the headers it needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any


class ConnectionLost(Exception):
    """The server closed the connection before answering."""


@dataclass
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error_code(self) -> str:
        """The `error.code` of the API's unified error body, or "" when there is none."""
        try:
            return self.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return ""


class Client:
    """One keep-alive connection to the server, reopened when the server closed it."""

    def __init__(self, host: str, port: int, *, headers: dict[str, str] | None = None):
        self.host, self.port = host, port
        self.headers = dict(headers or {})
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        body = b"" if json_body is None else json.dumps(json_body).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        for name, value in {**self.headers, **(headers or {})}.items():
            lines.append(f"{name}: {value}")
        if json_body is not None:
            lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(body)}")
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        for attempt in (1, 2):
            await self.connect()
            try:
                return await self._exchange(payload)
            except (ConnectionLost, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed while idle: it never read the
                # request, so sending it again on a new connection is safe. Once only.
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, payload: bytes) -> Response:
        assert self._reader is not None and self._writer is not None
        self._writer.write(payload)
        await self._writer.drain()
        status_line = await self._reader.readline()
        if not status_line:
            raise ConnectionLost()
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, close = None, False, False
        while True:
            line = await self._reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        if chunked:
            parts = []
            while True:
                size = int((await self._reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self._reader.readline()
                    break
                parts.append(await self._reader.readexactly(size))
                await self._reader.readline()
            body = b"".join(parts)
        elif length is not None:
            body = await self._reader.readexactly(length)
        else:
            body = await self._reader.read()
            close = True
        if close:
            await self.close()
        return Response(status, body)


@dataclass
class Tally:
    """Latencies and outcomes per operation, and the wall time each phase took."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    outcomes: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    elapsed: float = 0.0

    async def call(
        self,
        operation: str,
        client: Client,
        method: str,
        path: str,
        *,
        expect: tuple[int, ...] = (200,),
        accept: dict[int, str] | None = None,
        **kwargs: Any,
    ) -> Response | None:
        """Time one request. `expect`: success statuses; `accept`: statuses that are a
        legitimate answer under load (an empty queue, a full slot) but not a success, each
        with the `error.code` it must carry ("" for any). Anything else is an error."""
        started = time.perf_counter()
        try:
            response = await client.request(method, path, **kwargs)
        except (OSError, ConnectionLost, asyncio.IncompleteReadError) as error:
            self.latencies[operation].append(time.perf_counter() - started)
            self._error(operation, f"{type(error).__name__}: {error}")
            return None
        self.latencies[operation].append(time.perf_counter() - started)
        if response.status in expect:
            self.outcomes[operation]["ok"] += 1
            return response
        accepted_code = (accept or {}).get(response.status)
        if accepted_code is not None and accepted_code in ("", response.error_code):
            self.outcomes[operation][response.error_code or str(response.status)] += 1
            return response
        self._error(operation, f"{response.status} {response.body[:200]!r}")
        return response

    def _error(self, operation: str, message: str) -> None:
        self.outcomes[operation]["error"] += 1
        if len(self.errors[operation]) < 5:
            self.errors[operation].append(message)

    def error_count(self, operation: str) -> int:
        return self.outcomes[operation].get("error", 0)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(fraction * len(sorted_values) + 0.5))
    return sorted_values[min(rank, len(sorted_values)) - 1]
