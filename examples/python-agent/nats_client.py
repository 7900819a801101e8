"""A small NATS client on asyncio: the part of the NATS text protocol a kubemeta agent needs.

Why hand-written: this example must run on a plain Debian machine with nothing but python3 and
python3-protobuf. Debian (bookworm) packages no Python NATS client, and PyPI (nats-py) is not
reachable everywhere the example is built and tested. What kubemeta needs is core NATS only
(https://docs.nats.io/reference/reference-protocols/nats-protocol): INFO/CONNECT, SUB/UNSUB,
PUB/HPUB, MSG/HMSG with headers, PING/PONG, +OK/-ERR, and request/reply over a unique inbox.
A real agent may use nats-py instead; nothing in kubemeta depends on this file.

Not supported: TLS, NKEY/JWT credentials, cluster discovery (one server URL), JetStream.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import secrets
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable, Optional

log = logging.getLogger("nats")

# Longest protocol line accepted (INFO lines list the cluster's URLs; 1 MiB is plenty).
MAX_LINE = 1024 * 1024
CONNECT_TIMEOUT_S = 5.0


class NatsError(Exception):
    """A protocol error, a refused CONNECT, or a -ERR from the server."""


class ConnectionLost(NatsError):
    """The connection is down (reconnecting): nothing can be published now."""


class NoResponders(NatsError):
    """A request found no subscriber on its subject (NATS status 503, `no_responders`)."""


@dataclass
class Msg:
    subject: str
    reply: Optional[str]
    data: bytes
    # Header names lower-cased (NATS keeps the case it was given; kubemeta's are lower case).
    headers: dict[str, str] = field(default_factory=dict)
    # The status of a headers-only status message: 503 = no responders; None for ordinary messages.
    status: Optional[int] = None


def parse_headers(block: bytes) -> tuple[Optional[int], dict[str, str]]:
    """Parses `NATS/1.0[ status[ description]]\\r\\nName: value\\r\\n...\\r\\n\\r\\n`."""
    lines = block.decode("utf-8", "replace").split("\r\n")
    if not lines[0].startswith("NATS/1.0"):
        raise NatsError(f"bad header block: {lines[0]!r}")
    status_text = lines[0][len("NATS/1.0"):].strip().split(" ", 1)[0]
    status = int(status_text) if status_text.isdigit() else None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise NatsError(f"bad header line: {line!r}")
        # A name may repeat; the first value is the one kubemeta's headers mean.
        headers.setdefault(name.strip().lower(), value.strip())
    return status, headers


def encode_headers(headers: dict[str, str]) -> bytes:
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"NATS/1.0\r\n{lines}\r\n".encode()


class Subscription:
    def __init__(self, client: "NatsClient", sid: int, subject: str, callback: Callable[[Msg], None]):
        self._client = client
        self.sid = sid
        self.subject = subject
        self.callback = callback

    def unsubscribe(self) -> None:
        self._client._unsubscribe(self.sid)


class NatsClient:
    """One connection to one server; reconnects forever (re-subscribing) until close().

    Callbacks run on the event loop, one message at a time, in the order the server sent them.
    `on_disconnect`/`on_reconnect` tell the owner that messages may have been lost in between.
    """

    def __init__(
        self,
        url: str,
        name: str,
        on_disconnect: Optional[Callable[[], None]] = None,
        on_reconnect: Optional[Callable[[], None]] = None,
    ):
        u = urllib.parse.urlsplit(url if "://" in url else "nats://" + url)
        if u.scheme != "nats":
            raise ValueError(f"only nats:// URLs are supported (no TLS), got {url!r}")
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or 4222
        self._user = urllib.parse.unquote(u.username) if u.username else None
        self._password = urllib.parse.unquote(u.password) if u.password else None
        self.name = name
        self.info: dict = {}
        self._on_disconnect = on_disconnect
        self._on_reconnect = on_reconnect
        self._subs: dict[int, Subscription] = {}
        self._next_sid = 1
        self._reader: Optional[asyncio.StreamReader] = None
        self._writer: Optional[asyncio.StreamWriter] = None
        self._pongs: collections.deque[asyncio.Future] = collections.deque()
        self._task: Optional[asyncio.Task] = None
        self._closed = False

    @property
    def connected(self) -> bool:
        return self._writer is not None

    async def connect(self) -> None:
        """Connects once (raising on failure), then keeps the connection up in the background."""
        await self._open()
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        self._closed = True
        if self._task:
            self._task.cancel()
        self._drop_connection(ConnectionLost("closed"))

    # ---- publishing --------------------------------------------------------------------

    def publish(self, subject: str, payload: bytes = b"", reply: Optional[str] = None,
                headers: Optional[dict[str, str]] = None) -> None:
        """Sends PUB (or HPUB with headers). Raises ConnectionLost while disconnected."""
        if self._writer is None:
            raise ConnectionLost(f"not connected to {self.host}:{self.port}")
        reply_part = f" {reply}" if reply else ""
        if headers:
            hdr = encode_headers(headers)
            size = len(hdr) + len(payload)
            self._check_size(size)
            line = f"HPUB {subject}{reply_part} {len(hdr)} {size}\r\n".encode()
            self._writer.write(line + hdr + payload + b"\r\n")
        else:
            self._check_size(len(payload))
            self._writer.write(f"PUB {subject}{reply_part} {len(payload)}\r\n".encode() + payload + b"\r\n")

    async def flush(self, timeout: float = 5.0) -> None:
        """Waits until the server has processed everything sent so far (a PING/PONG round trip)."""
        if self._writer is None:
            raise ConnectionLost("not connected")
        pong = asyncio.get_running_loop().create_future()
        self._pongs.append(pong)
        self._writer.write(b"PING\r\n")
        await asyncio.wait_for(pong, timeout)

    def subscribe(self, subject: str, callback: Callable[[Msg], None]) -> Subscription:
        sid = self._next_sid
        self._next_sid += 1
        sub = Subscription(self, sid, subject, callback)
        self._subs[sid] = sub
        if self._writer is not None:
            self._writer.write(f"SUB {subject} {sid}\r\n".encode())
        return sub

    async def request(self, subject: str, payload: bytes, timeout: float, inbox: str,
                      headers: Optional[dict[str, str]] = None) -> Msg:
        """One request, one reply, on `inbox` (unique per request: see new_inbox)."""
        reply: asyncio.Future = asyncio.get_running_loop().create_future()
        sub = self.subscribe(inbox, lambda m: reply.done() or reply.set_result(m))
        try:
            self.publish(subject, payload, reply=inbox, headers=headers)
            msg = await asyncio.wait_for(reply, timeout)
        finally:
            sub.unsubscribe()
        if msg.status == 503:
            raise NoResponders(f"nobody listens on {subject}")
        return msg

    # ---- internals ---------------------------------------------------------------------

    def _check_size(self, size: int) -> None:
        limit = self.info.get("max_payload", 1024 * 1024)
        if size > limit:
            raise NatsError(f"message of {size} bytes exceeds the server's max_payload {limit}")

    def _unsubscribe(self, sid: int) -> None:
        if self._subs.pop(sid, None) is not None and self._writer is not None:
            self._writer.write(f"UNSUB {sid}\r\n".encode())

    async def _open(self) -> None:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, limit=MAX_LINE), CONNECT_TIMEOUT_S)
        try:
            op, args = _split(await asyncio.wait_for(reader.readuntil(b"\r\n"), CONNECT_TIMEOUT_S))
            if op != "INFO":
                raise NatsError(f"expected INFO from {self.host}:{self.port}, got {op}")
            info = json.loads(args)
            if info.get("tls_required"):
                raise NatsError("the server requires TLS, which this example client does not speak")
            if not info.get("headers"):
                raise NatsError("the server does not support headers (nats-server 2.2 or newer is needed)")
            options = {
                "verbose": False, "pedantic": False, "protocol": 1, "lang": "python",
                "version": "kubemeta-example", "name": self.name,
                # Heartbeats carry their data in headers; no_responders makes a request to a
                # subject nobody serves come back at once as a 503 status message.
                "headers": True, "no_responders": True,
            }
            if self._user is not None and self._password is not None:
                options.update(user=self._user, **{"pass": self._password})
            elif self._user is not None:
                options["auth_token"] = self._user
            # CONNECT then PING: the PONG says the server accepted CONNECT (a refusal is -ERR).
            subs = "".join(f"SUB {s.subject} {sid}\r\n" for sid, s in self._subs.items())
            writer.write(f"CONNECT {json.dumps(options)}\r\n{subs}PING\r\n".encode())
            await writer.drain()
            while True:
                op, args = _split(await asyncio.wait_for(reader.readuntil(b"\r\n"), CONNECT_TIMEOUT_S))
                if op == "PONG":
                    break
                if op == "-ERR":
                    raise NatsError(f"server refused the connection: {args}")
                if op == "PING":
                    writer.write(b"PONG\r\n")
                # +OK (not sent with verbose false) and INFO updates need nothing here.
        except BaseException:
            writer.close()
            raise
        self.info, self._reader, self._writer = info, reader, writer

    async def _run(self) -> None:
        """Reads until the connection breaks, then reconnects (with backoff) and reads again."""
        while not self._closed:
            try:
                await self._read_loop(self._reader)
                error: Exception = ConnectionLost("server closed the connection")
            except (asyncio.IncompleteReadError, ConnectionError, OSError, NatsError, ValueError) as e:
                error = e
            if self._closed:
                return
            log.warning("connection to %s:%s lost (%s); reconnecting", self.host, self.port, error)
            self._drop_connection(ConnectionLost(str(error)))
            if self._on_disconnect:
                self._on_disconnect()
            delay = 0.1
            while not self._closed:
                await asyncio.sleep(delay)
                try:
                    await self._open()
                    break
                except (OSError, NatsError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as e:
                    log.debug("reconnect failed: %s", e)
                    delay = min(delay * 2, 2.0)
            if not self._closed:
                log.warning("reconnected to %s:%s", self.host, self.port)
                if self._on_reconnect:
                    self._on_reconnect()

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        while True:
            # readuntil/readexactly return only whole lines and whole payloads: TCP may deliver a
            # message in any number of pieces, the StreamReader buffers until it is complete.
            line = await reader.readuntil(b"\r\n")
            op, args = _split(line)
            if op == "MSG":
                # MSG <subject> <sid> [reply-to] <#bytes>
                parts = args.split()
                subject, sid, reply, size = parts[0], parts[1], parts[2] if len(parts) == 4 else None, int(parts[-1])
                payload = await reader.readexactly(size + 2)
                self._deliver(int(sid), Msg(subject, reply, payload[:-2]))
            elif op == "HMSG":
                # HMSG <subject> <sid> [reply-to] <#header bytes> <#total bytes>
                parts = args.split()
                subject, sid = parts[0], parts[1]
                reply = parts[2] if len(parts) == 5 else None
                hdr_len, total = int(parts[-2]), int(parts[-1])
                block = await reader.readexactly(total + 2)
                status, headers = parse_headers(block[:hdr_len])
                self._deliver(int(sid), Msg(subject, reply, block[hdr_len:total], headers, status))
            elif op == "PING":
                if self._writer:
                    self._writer.write(b"PONG\r\n")
            elif op == "PONG":
                if self._pongs:
                    pong = self._pongs.popleft()
                    if not pong.done():
                        pong.set_result(None)
            elif op == "+OK":
                pass
            elif op == "-ERR":
                # Fatal errors are followed by the server closing the connection (the read then
                # fails and we reconnect); others (e.g. a permissions violation) only inform.
                log.error("server error: %s", args)
            elif op == "INFO":
                self.info.update(json.loads(args))
            else:
                raise NatsError(f"unexpected protocol line {line[:80]!r}")

    def _deliver(self, sid: int, msg: Msg) -> None:
        sub = self._subs.get(sid)
        if sub is None:
            return  # unsubscribed while the message was in flight
        try:
            sub.callback(msg)
        except Exception:  # a bug in a handler must not take the connection down
            log.exception("message handler for %s failed", sub.subject)

    def _drop_connection(self, error: Exception) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None
        while self._pongs:
            pong = self._pongs.popleft()
            if not pong.done():
                pong.set_exception(error)


def _split(line: bytes) -> tuple[str, str]:
    op, _, args = line.rstrip(b"\r\n").decode("utf-8", "replace").partition(" ")
    return op.upper(), args.strip()


def new_inbox(prefix: str = "_INBOX") -> str:
    """A reply subject nobody else uses: the prefix plus a random token."""
    return f"{prefix}.{secrets.token_hex(11)}"
