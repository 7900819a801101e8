#!/usr/bin/python3
"""A kubemeta node agent in Python, written from docs/wire-protocol.md and proto/ alone.

It follows one node's scope (`kubemeta.<cluster>.node.<node>`) and keeps the objects of that
scope in memory — the node, its pods and containers, and their namespaces, services and owners:
- every update is checked against the scope's chain (version / prev_version, §6); a break is a
  gap, repaired by a replay (§7: snapshot + tail, paged while last_version < head, every
  response acknowledged when it carries a reply subject);
- heartbeats (§6.1) reveal a lost last update on a quiet scope, and a store restored from an
  older copy;
- a new stream id (§5) means the service's store was replaced: the agent starts over.

Needs only python3 and python3-protobuf (Debian); talks NATS through nats_client.py.
Run `./kubemeta_agent.py --help`; the README says how to try it against `npx kubemeta demo`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import re
import secrets
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.dont_write_bytecode = True  # no __pycache__ beside the example in the repository

import kubemeta_proto  # noqa: E402
from nats_client import ConnectionLost, Msg, NatsClient, NatsError, NoResponders, new_inbox  # noqa: E402

log = logging.getLogger("kubemeta-agent")

REPO_PROTO_DIR = Path(__file__).resolve().parents[2] / "proto"
STREAM_ID = re.compile(r"^[0-9a-f]{32}$")
DECIMAL = re.compile(r"^[0-9]{1,16}$")
MAX_VERSION = 2**53 - 1

# Silence allowed before the first replay response and between responses (§7 "Loss").
RESPONSE_TIMEOUT_S = 10.0
# A heartbeat can arrive while the replay that covers its head is still being answered, or just
# before the batch it announces: look again after this grace before replaying (§6.1).
HEARTBEAT_GRACE_S = 0.25
# Heartbeats must keep showing a head *behind* the position this long before we conclude the
# service's store went back to an older copy (same stream id, versions to be issued again).
REWIND_CONFIRM_S = 3.0
# Out-of-order updates held while a gap is repaired; on overflow they are all dropped (§6 step 3).
MAX_BUFFERED = 10_000


def escape_token(name: str) -> str:
    """§1: every UTF-8 byte outside [A-Za-z0-9_-] becomes %XX (uppercase hex)."""
    safe = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    return "".join(chr(b) if b in safe else f"%{b:02X}" for b in name.encode("utf-8"))


class Backoff:
    """Exponential backoff with jitter, so that a restarted service's agents spread out."""

    def __init__(self, initial: float = 0.25, maximum: float = 15.0):
        self.initial, self.maximum, self.current = initial, maximum, initial

    def next(self) -> float:
        delay = self.current * (0.5 + random.random() * 0.5)
        self.current = min(self.current * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self.current = self.initial


class ReplayFailed(Exception):
    """This answer is void (lost response, silence, broken chain…): ask again."""

    def __init__(self, message: str, retry_after_ms: int = 0):
        super().__init__(message)
        self.retry_after_ms = retry_after_ms


class ReplayAbandoned(ReplayFailed):
    """We dropped the answer ourselves (the stream id changed meanwhile): ask again at once."""


class FatalError(Exception):
    """Retrying cannot help (a refusal that says the request is wrong): the agent stops."""


class ReplayRefused(ReplayFailed):
    """The service answered with a RequestError (§7)."""

    def __init__(self, code: int, code_name: str, message: str, retry_after_ms: int):
        super().__init__(f"{code_name}: {message}", retry_after_ms)
        self.code = code


class ScopeState:
    """The objects of one scope, keyed by (ObjectKind, uid) (§3: identity is by uid; a
    container's uid is its container id; workloads and scope exits carry their kind)."""

    def __init__(self, pb: Any):
        self.pb = pb
        k = pb.resources
        self.kind_of_case = {"pod": k.OBJECT_KIND_POD, "container": k.OBJECT_KIND_CONTAINER,
                             "service": k.OBJECT_KIND_SERVICE, "namespace": k.OBJECT_KIND_NAMESPACE,
                             "node": k.OBJECT_KIND_NODE,
                             # The cluster's pod, service and node ranges (one object, uid "cluster").
                             "network_ranges": k.OBJECT_KIND_NETWORK_RANGES}
        self.objects: dict[tuple[int, str], Any] = {}

    def identity(self, update: Any) -> Optional[tuple[int, str, bool]]:
        """(kind, uid, is_scope_exit), or None for an update this agent cannot read."""
        case = update.WhichOneof("object")
        if case is None:
            return None  # a ResourceUpdate case newer than our .proto files
        obj = getattr(update, case)
        if case in ("workload", "scope_exit"):
            kind, uid = obj.kind, obj.uid
        elif case == "container":
            kind, uid = self.kind_of_case[case], obj.container_id
        elif case in self.kind_of_case:
            kind, uid = self.kind_of_case[case], obj.uid
        else:
            return None  # a case this agent does not keep (skipped, like a newer schema's)
        if not uid or kind == self.pb.resources.OBJECT_KIND_UNSPECIFIED:
            return None
        return kind, uid, case == "scope_exit"

    def apply(self, update: Any) -> bool:
        """Applies one update (full state, §3); False when it cannot be read."""
        ident = self.identity(update)
        if ident is None:
            return False
        kind, uid, is_exit = ident
        obj = getattr(update, update.WhichOneof("object"))
        if is_exit:
            self._remove(kind, uid)  # left this scope; it still exists elsewhere
        elif obj.stop_time_ns != 0 and kind != self.pb.resources.OBJECT_KIND_CONTAINER:
            self._remove(kind, uid)  # deleted (deletions are updates with stop_time_ns)
        else:
            # Containers stay when they stop: a finished pod still names its terminated
            # containers. prune() drops them once their pod is gone.
            self.objects[(kind, uid)] = update
        return True

    def replace(self, updates: list[Any]) -> None:
        """A snapshot replaces everything (§7): objects it lacks were deleted or left."""
        self.objects = {}
        for u in updates:
            ident = self.identity(u)
            if ident is not None and not ident[2]:
                self.apply(u)
        self.prune()

    def prune(self) -> None:
        """Drops stopped containers whose pod is not held (deleted pods' last container stops
        come with or after the pod's deletion; snapshots list containers before pods)."""
        k = self.pb.resources
        for key, u in list(self.objects.items()):
            if key[0] == k.OBJECT_KIND_CONTAINER and u.container.stop_time_ns != 0 \
                    and (k.OBJECT_KIND_POD, u.container.pod_uid) not in self.objects:
                del self.objects[key]

    def pods(self) -> list[Any]:
        pod = self.pb.resources.OBJECT_KIND_POD
        return sorted((u.pod for (kind, _), u in self.objects.items() if kind == pod),
                      key=lambda p: (p.namespace, p.name))

    def _remove(self, kind: int, uid: str) -> None:
        self.objects.pop((kind, uid), None)
        if kind == self.pb.resources.OBJECT_KIND_POD:
            container = self.pb.resources.OBJECT_KIND_CONTAINER
            for key, u in list(self.objects.items()):
                if key[0] == container and u.container.pod_uid == uid:
                    del self.objects[key]


class Staging:
    """A snapshot being received: applied at snapshot_end, all at once (§7)."""

    def __init__(self, version: int, stream_id: str):
        self.version, self.stream_id, self.entries = version, stream_id, []


class NodeAgent:
    """Keeps one node scope in step with the service (wire-protocol §6 and §7).

    Everything runs on one asyncio loop: live messages are handled in the NATS callback; while a
    replay is in flight they are only buffered, and the replay loop applies them afterwards, so
    applies never interleave.
    """

    def __init__(self, nc: NatsClient, pb: Any, cluster: str, node: str, *, stop: asyncio.Event,
                 replay_limit: int = 0, max_chunk_bytes: int = 0, instance_id: str = ""):
        self.nc, self.pb, self.cluster, self.node = nc, pb, cluster, node
        self.scope = f"node/{node}"
        prefix = f"kubemeta.{escape_token(cluster)}"
        self.subject = f"{prefix}.node.{escape_token(node)}"
        self.replay_subject = f"{prefix}.replay"
        self.register_subject = f"{prefix}.agents.register"
        # Reply inboxes under _INBOX.<scope subject>. (what --require-scoped-inboxes accepts),
        # one client token per agent, one last token per request.
        self.inbox_prefix = f"_INBOX.{self.subject}.{secrets.token_hex(8)}"
        self.replay_limit, self.max_chunk_bytes = replay_limit, max_chunk_bytes
        self.instance_id = instance_id or f"python-{socket.gethostname()}"
        self.state = ScopeState(pb)
        self.stream_id: Optional[str] = None  # the stream our state came from
        self.position = 0  # last version applied on the scope
        self.latest_head = 0  # newest head seen (batches, heartbeats, replay ends)
        self.asid = 0
        self.buffer: dict[int, tuple[str, Any]] = {}  # version -> (stream id, ScopedUpdate)
        self.staging: Optional[Staging] = None
        self.replaying = False
        self.replay_wanted = False
        self.epoch = 0  # bumped on a stream reset: a replay in flight for the old state is void
        self.behind_since: Optional[float] = None
        self.heartbeat_check: Optional[asyncio.TimerHandle] = None
        self.requests = 0
        self.stats = dict(applied=0, duplicates=0, gaps=0, heartbeat_gaps=0, buffer_overflows=0,
                          replays=0, tail_replays=0, pages=0, snapshots=0, stream_resets=0,
                          heartbeats=0, acks=0, reconnects=0, bad_messages=0,
                          unreadable_updates=0, retries=0)
        self.changed = asyncio.Event()
        self.stop = stop
        self.fatal: Optional[BaseException] = None
        self.tasks: set[asyncio.Task] = set()

    # ---- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """§6 step 1 and 2: subscribe first (what arrives is buffered), then bootstrap."""
        self.sub = self.nc.subscribe(self.subject, self.on_message)
        log.info("following %s on %s", self.scope, self.subject)
        self._spawn(self.register())
        self.want_replay()

    @property
    def in_sync(self) -> bool:
        return (self.stream_id is not None and not self.replaying and not self.buffer
                and self.position >= self.latest_head and self.nc.connected)

    def on_reconnect(self) -> None:
        """What was published while we were disconnected is lost: replay the tail."""
        self.stats["reconnects"] += 1
        if self.stream_id is not None:
            self._gap("reconnect", self.latest_head)
        self.want_replay()

    # ---- live messages (§6) --------------------------------------------------------------

    def on_message(self, msg: Msg) -> None:
        if not msg.data:  # §6 step 8: an empty payload is a heartbeat, never a batch
            return self.on_heartbeat(msg)
        batch = self.pb.updates.UpdateBatch()
        try:
            batch.ParseFromString(msg.data)
        except Exception as e:  # google.protobuf.message.DecodeError and friends
            return self._bad(f"not an UpdateBatch: {e}")
        # `count` is written after the updates: a batch cut between two updates still parses.
        if batch.count == 0 or batch.count != len(batch.updates):
            return self._bad(f"UpdateBatch says {batch.count} updates but holds {len(batch.updates)}")
        if batch.scope != self.scope or not STREAM_ID.match(batch.stream_id):
            return self._bad(f"a batch for scope {batch.scope!r} / stream {batch.stream_id!r}")
        self.on_batch(batch.stream_id, list(batch.updates))

    def on_batch(self, stream_id: str, updates: list[Any]) -> None:
        if self.stream_id is not None and stream_id != self.stream_id:
            self.stream_reset(stream_id)
        if self.stream_id is None or self.replaying:
            # Bootstrapping or repairing: hold the updates; the replay loop applies what chains
            # on once the answer is in, and replays again if a hole remains.
            self.hold(stream_id, updates)
            if not self.replaying:
                self.want_replay()
            return
        self.latest_head = max(self.latest_head, updates[-1].version)
        for i, u in enumerate(updates):
            if u.version <= self.position:
                self.stats["duplicates"] += 1  # at-least-once delivery, replay overlap
            elif u.prev_version == self.position:
                self.apply(u)
            else:
                self._gap("chain", u.version, u.prev_version)
                self.hold(stream_id, updates[i:])
                self.want_replay()
                break
        self.state.prune()
        self.changed.set()

    def on_heartbeat(self, msg: Msg) -> None:
        stream_id = msg.headers.get("kubemeta-stream", "")
        head_text = msg.headers.get("kubemeta-head", "")
        if not STREAM_ID.match(stream_id) or not DECIMAL.match(head_text) or int(head_text) > MAX_VERSION:
            return self._bad(f"a heartbeat without valid headers: {msg.headers}")
        head = int(head_text)
        self.stats["heartbeats"] += 1
        if self.stream_id is not None and stream_id != self.stream_id:
            return self.stream_reset(stream_id)
        if self.stream_id is None:
            return  # bootstrapping: the replay answer brings the head
        if head < self.position:
            # Normal for a moment (a heartbeat sent before the replay answer that moved us was
            # read). Still so REWIND_CONFIRM_S later: the store went back to an older copy with
            # the same stream id and will issue the versions after its head again, for other
            # updates we would skip as duplicates. Start over from a snapshot.
            now = time.monotonic()
            if self.behind_since is None:
                self.behind_since = now
            elif now - self.behind_since >= REWIND_CONFIRM_S and not self.replaying:
                log.warning("heartbeats stay at head %d, behind our position %d: the service's "
                            "store went back; bootstrapping again", head, self.position)
                self.behind_since = None
                self.drop_position()
                self.want_replay()
            return
        self.behind_since = None
        self.latest_head = max(self.latest_head, head)
        if head > self.position and not self.replaying and self.heartbeat_check is None:
            self.heartbeat_check = asyncio.get_running_loop().call_later(HEARTBEAT_GRACE_S, self._check_head)
        self.changed.set()

    def _check_head(self) -> None:
        self.heartbeat_check = None
        if self.stream_id is not None and not self.replaying and self.position < self.latest_head:
            self._gap("heartbeat", self.latest_head)
            self.want_replay()

    def hold(self, stream_id: str, updates: list[Any]) -> None:
        for u in updates:
            if len(self.buffer) >= MAX_BUFFERED:
                # Bounded: drop everything held and replay to the head instead of growing.
                self.buffer.clear()
                self.stats["buffer_overflows"] += 1
                self.replay_wanted = True
                return
            self.buffer[u.version] = (stream_id, u)

    def apply(self, u: Any) -> None:
        if self.state.apply(u.update):
            self.stats["applied"] += 1
        else:
            # Skipped but the chain moves on: otherwise every later update would be a gap.
            self.stats["unreadable_updates"] += 1
        self.position = u.version

    def drain_buffer(self) -> None:
        """After a replay: apply held updates that chain on, in version order (§6 step 4)."""
        for version in sorted(self.buffer):
            if self.stream_id is None:
                return
            stream_id, u = self.buffer[version]
            if stream_id != self.stream_id:
                return self.stream_reset(stream_id)
            if version > self.position and u.prev_version != self.position:
                self._gap("chain", version, u.prev_version)
                self.replay_wanted = True
                return
            del self.buffer[version]
            if version <= self.position:
                self.stats["duplicates"] += 1
            else:
                self.apply(u)
        self.state.prune()

    # ---- replay (§7) ---------------------------------------------------------------------

    def want_replay(self) -> None:
        self.replay_wanted = True
        if not self.replaying:
            self.replaying = True
            self._spawn(self.replay_loop())

    async def replay_loop(self) -> None:
        """Replays until nothing is missing; one loop at a time."""
        idle = Backoff(0.25, 5.0)
        try:
            while self.replay_wanted:
                self.replay_wanted = False
                before = (self.position, self.stream_id)
                await self.replay_to_head()
                self.drain_buffer()
                if not self.replay_wanted and self.position < self.latest_head:
                    # A heartbeat announced a head the answer did not reach yet (the service's
                    # publisher is behind its log): ask again, but without spinning.
                    self.replay_wanted = True
                    if (self.position, self.stream_id) == before:
                        await asyncio.sleep(idle.next())
        finally:
            self.replaying = False
            self.changed.set()

    async def replay_to_head(self) -> None:
        """Requests until an answer reaches the head: paging while last_version < head,
        retrying what can be retried (§7 "Retrying"), bootstrapping on VERSION_IN_FUTURE."""
        errors = self.pb.errors
        backoff = Backoff()
        while True:
            after, known = (0, "") if self.stream_id is None else (self.position, self.stream_id)
            try:
                end, snapshot = await self.replay_once(after, known)
            except ReplayRefused as e:
                self.staging = None
                if e.code == errors.REQUEST_ERROR_CODE_VERSION_IN_FUTURE:
                    log.warning("replay refused (%s): bootstrapping again", e)
                    self.drop_position()
                    continue
                if e.code in (errors.REQUEST_ERROR_CODE_BUSY, errors.REQUEST_ERROR_CODE_UNAVAILABLE,
                              errors.REQUEST_ERROR_CODE_ABORTED, errors.REQUEST_ERROR_CODE_INTERNAL):
                    await self._retry_later(e, backoff)
                    continue
                raise FatalError(f"replay refused, retrying cannot help: {e}")  # a bug here
            except ReplayAbandoned:
                self.staging = None
                continue
            except (ReplayFailed, NoResponders, ConnectionLost, NatsError) as e:
                self.staging = None
                await self._retry_later(e, backoff)
                continue
            if end.last_version >= end.head:
                return
            # `limit` cut the tail: ask again after last_version (the position moved there).
            if not snapshot and end.last_version <= after:
                await self._retry_later(ReplayFailed(f"the answer made no progress past {after}"), backoff)
                continue
            self.stats["pages"] += 1
            backoff.reset()

    async def _retry_later(self, error: Exception, backoff: Backoff) -> None:
        retry_after_ms = getattr(error, "retry_after_ms", 0)
        # The service's advice plus up to 50% jitter, else our own backoff.
        delay = retry_after_ms / 1000 * (1 + 0.5 * random.random()) if retry_after_ms > 0 else backoff.next()
        self.stats["retries"] += 1
        log.warning("replay failed (%s); retrying in %.2f s", error, delay)
        await asyncio.sleep(delay)

    async def replay_once(self, after: int, known_stream_id: str) -> tuple[Any, bool]:
        """One ReplayRequest and its answer, applied as it arrives. Returns (end, had snapshot)."""
        pb = self.pb.replay
        self.requests += 1
        self.stats["replays"] += 1
        if after > 0:
            self.stats["tail_replays"] += 1
        epoch = self.epoch
        request_id = f"{self.inbox_prefix.rsplit('.', 1)[1]}-{self.requests}"
        inbox = f"{self.inbox_prefix}.{self.requests}"
        responses: asyncio.Queue[Msg] = asyncio.Queue()  # bounded by the server's ack window
        sub = self.nc.subscribe(inbox, responses.put_nowait)
        try:
            request = pb.ReplayRequest(scope=self.scope, after=after, limit=self.replay_limit,
                                       known_stream_id=known_stream_id, request_id=request_id,
                                       max_chunk_bytes=self.max_chunk_bytes)
            log.info("replay %s after %d%s", request_id, after, "" if known_stream_id else " (bootstrap)")
            # kubemeta-requester: the identity the service's per-requester limits count.
            self.nc.publish(self.replay_subject, request.SerializeToString(), reply=inbox,
                            headers={"kubemeta-requester": self.node[:128]})
            snapshot = False
            expected = 0
            while True:
                try:
                    msg = await asyncio.wait_for(responses.get(), RESPONSE_TIMEOUT_S)
                except asyncio.TimeoutError:
                    raise ReplayFailed(f"no response {expected} within {RESPONSE_TIMEOUT_S} s") from None
                if msg.status == 503:
                    raise NoResponders(f"no replay server on {self.replay_subject}")
                resp = pb.ReplayResponse()
                try:
                    resp.ParseFromString(msg.data)
                except Exception as e:
                    raise ReplayFailed(f"a response did not decode: {e}") from None
                if resp.request_id != request_id:
                    continue  # not ours (a late answer to an abandoned request)
                if resp.sequence != expected:
                    raise ReplayFailed(f"response {expected} is missing (got sequence {resp.sequence})")
                expected += 1
                if self.epoch != epoch:
                    raise ReplayAbandoned("the stream id changed during the answer")
                body = resp.WhichOneof("body")
                if body == "error":
                    e = resp.error
                    raise ReplayRefused(e.code, self.pb.errors.RequestErrorCode.Name(e.code), e.message, e.retry_after_ms)
                snapshot = snapshot or body == "snapshot_start"
                self.on_replay_response(resp, body)
                # Flow control: ack once processed, only when the service asked (reply subject).
                if msg.reply:
                    self.nc.publish(msg.reply, pb.ReplayAck(request_id=request_id, sequence=resp.sequence).SerializeToString())
                    self.stats["acks"] += 1
                if body == "end":
                    log.info("replay %s done: position %d, head %d", request_id, self.position, resp.end.head)
                    return resp.end, snapshot
        finally:
            sub.unsubscribe()
            self.changed.set()

    def on_replay_response(self, resp: Any, body: Optional[str]) -> None:
        if resp.sequence == 0:
            self.staging = None  # a new answer: nothing of an abandoned one counts
        if body == "snapshot_start":
            self.staging = Staging(resp.snapshot_start.version, resp.stream_id)
        elif body == "updates":
            if self.staging is not None:
                if resp.stream_id != self.staging.stream_id:
                    raise ReplayFailed("snapshot chunks from two streams")
                self.staging.entries.extend(u.update for u in resp.updates.updates)
            else:
                self.apply_tail(resp.stream_id, resp.updates.updates)
        elif body == "snapshot_end":
            if self.staging is None or self.staging.version != resp.snapshot_end.version:
                raise ReplayFailed(f"snapshot end {resp.snapshot_end.version} without its start")
            self.apply_snapshot(self.staging)
            self.staging = None
        elif body == "end":
            # A tail-only answer is only valid for the stream our state came from.
            if resp.stream_id != self.stream_id:
                raise ReplayFailed(f"an answer from stream {resp.stream_id} without a snapshot")
            self.latest_head = max(self.latest_head, resp.end.head)
            if resp.end.last_version > self.position:
                self.position = resp.end.last_version  # §6 step 2: the answer brought us there
        # A body this agent does not know (newer schema) is skipped.

    def apply_tail(self, stream_id: str, updates: Any) -> None:
        """Tail updates are exactly the scope's updates after `after`: the first may chain on a
        version at or below our position; each later one chains on the one before it."""
        if stream_id != self.stream_id:
            raise ReplayFailed(f"a tail from stream {stream_id}, our state is from {self.stream_id}")
        for u in updates:
            if u.version <= self.position:
                self.stats["duplicates"] += 1
            elif u.prev_version <= self.position:
                self.apply(u)
            else:
                raise ReplayFailed(f"tail update {u.version} follows {u.prev_version}, not {self.position}")
        self.state.prune()

    def apply_snapshot(self, staging: Staging) -> None:
        if staging.stream_id != self.stream_id:
            self.latest_head = 0  # heads of another stream mean nothing
        self.state.replace(staging.entries)
        self.stream_id, self.position = staging.stream_id, staging.version
        self.latest_head = max(self.latest_head, staging.version)
        self.stats["snapshots"] += 1
        log.info("snapshot applied: %d objects at version %d of stream %s",
                 len(self.state.objects), staging.version, staging.stream_id)

    # ---- resets --------------------------------------------------------------------------

    def stream_reset(self, to: str) -> None:
        """§5: another stream id — the store was replaced; our position means nothing."""
        log.warning("stream id changed from %s to %s: starting over", self.stream_id, to)
        self.stats["stream_resets"] += 1
        self.epoch += 1
        self.drop_position()
        self.want_replay()

    def drop_position(self) -> None:
        """Forget where we are (the objects stay visible until a snapshot replaces them)."""
        self.stream_id, self.position, self.latest_head = None, 0, 0
        self.buffer.clear()
        self.staging = None

    # ---- agent registry (§8) -------------------------------------------------------------

    async def register(self) -> None:
        """Gets this agent's ASID; retried until the service answers. Its stream id is one
        more way to notice a replaced store."""
        pb = self.pb.agents
        request = pb.RegisterAgentRequest(node_name=self.node, agent_instance_id=self.instance_id,
                                          hostname=socket.gethostname()).SerializeToString()
        backoff = Backoff(0.5, 15.0)
        while True:
            try:
                msg = await self.nc.request(self.register_subject, request, 5.0, new_inbox(self.inbox_prefix))
                resp = pb.RegisterAgentResponse.FromString(msg.data)
                if resp.HasField("error"):
                    raise ReplayRefused(resp.error.code, self.pb.errors.RequestErrorCode.Name(resp.error.code),
                                        resp.error.message, resp.error.retry_after_ms)
                self.asid = resp.asid
                log.info("registered as ASID %d (instance %s)", self.asid, self.instance_id)
                if self.stream_id is not None and resp.stream_id != self.stream_id:
                    self.stream_reset(resp.stream_id)
                return
            except (NatsError, ReplayFailed, asyncio.TimeoutError) as e:
                delay = backoff.next()
                log.warning("registration failed (%s); retrying in %.1f s", e, delay)
                await asyncio.sleep(delay)

    # ---- output --------------------------------------------------------------------------

    def dump(self) -> dict:
        from google.protobuf.json_format import MessageToDict

        phase = self.pb.resources.PodPhase
        return {
            "node": self.node, "scope": self.scope, "stream_id": self.stream_id,
            "position": self.position, "head": self.latest_head, "in_sync": self.in_sync,
            "asid": self.asid, "stats": self.stats,
            "pods": [{"uid": p.uid, "namespace": p.namespace, "name": p.name, "phase": phase.Name(p.phase),
                      "pod_ip": p.pod_ip, "containers": [{"name": c.name, "container_id": c.container_id}
                                                         for c in p.containers]}
                     for p in self.state.pods()],
            # Every object held, as proto3 JSON of its ResourceUpdate.
            "objects": [MessageToDict(u) for u in self.state.objects.values()],
        }

    def pods_table(self) -> str:
        phase = self.pb.resources.PodPhase
        rows = [("NAMESPACE", "NAME", "PHASE", "IP", "CONTAINERS")]
        for p in self.state.pods():
            rows.append((p.namespace, p.name, phase.Name(p.phase).removeprefix("POD_PHASE_"), p.pod_ip or "-",
                         ",".join(f"{c.name}={c.container_id[:12] or '-'}" for c in p.containers)))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4] for r in rows]
        status = "in sync" if self.in_sync else "catching up"
        return (f"# {self.scope}: {len(rows) - 1} pods, position {self.position}, {status}, "
                f"stream {self.stream_id}\n" + "\n".join(lines))

    # ---- helpers -------------------------------------------------------------------------

    def _gap(self, reason: str, seen: int, prev: Optional[int] = None) -> None:
        self.stats["gaps"] += 1
        if reason == "heartbeat":
            self.stats["heartbeat_gaps"] += 1
        detail = f" (prev_version {prev})" if prev is not None else ""
        log.info("gap (%s): at position %d, saw version %d%s: replaying", reason, self.position, seen, detail)

    def _bad(self, problem: str) -> None:
        self.stats["bad_messages"] += 1
        log.warning("bad message on %s: %s", self.subject, problem)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)

        def done(t: asyncio.Task) -> None:
            self.tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                # A bug or a fatal refusal: stop, visibly, rather than hang out of step.
                self.fatal = t.exception()
                log.error("stopping: %r", self.fatal)
                self.stop.set()

        task.add_done_callback(done)


def write_json_atomically(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)  # a reader never sees half a file


async def run(args: argparse.Namespace) -> int:
    pb = kubemeta_proto.load(Path(args.proto_dir))
    agent: Optional[NodeAgent] = None
    nc = NatsClient(args.nats, name=f"kubemeta-python-agent-{args.node}",
                    on_disconnect=lambda: agent and agent.changed.set(),
                    on_reconnect=lambda: agent and agent.on_reconnect())
    try:
        await nc.connect()
    except (OSError, NatsError, asyncio.TimeoutError) as e:
        log.error("cannot connect to %s: %s", args.nats, e)
        return 1
    stop = asyncio.Event()
    agent = NodeAgent(nc, pb, args.cluster, args.node, stop=stop, replay_limit=args.replay_limit,
                      max_chunk_bytes=args.max_chunk_bytes, instance_id=args.instance_id)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, lambda: print(agent.pods_table(), flush=True))
    agent.start()

    async def dump_on_change() -> None:
        while True:
            await agent.changed.wait()
            await asyncio.sleep(0.1)  # coalesce bursts of updates into one write
            agent.changed.clear()
            write_json_atomically(Path(args.dump_json), agent.dump())

    async def print_every(seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            print(agent.pods_table(), flush=True)

    helpers = []
    if args.dump_json:
        helpers.append(asyncio.create_task(dump_on_change()))
    if args.print_every > 0:
        helpers.append(asyncio.create_task(print_every(args.print_every)))
    await stop.wait()
    for t in helpers:
        t.cancel()
    if args.dump_json:
        write_json_atomically(Path(args.dump_json), agent.dump())
    print(agent.pods_table(), flush=True)
    await nc.close()
    return 1 if agent.fatal is not None else 0


def main() -> None:
    p = argparse.ArgumentParser(description="A kubemeta node agent: follows one node's scope and keeps its pods.")
    p.add_argument("--nats", default="nats://127.0.0.1:4222", help="NATS server URL (nats://[user:pass@]host:port)")
    p.add_argument("--cluster", required=True, help="kubemeta cluster name (kubemeta serve --cluster)")
    p.add_argument("--node", required=True, help="the Kubernetes node whose scope to follow")
    p.add_argument("--dump-json", default="", help="keep this file up to date with the scope's state as JSON")
    p.add_argument("--print-every", type=float, default=0, help="print the pods table every N seconds (also on SIGUSR1 and at exit)")
    p.add_argument("--replay-limit", type=int, default=0, help="most tail updates per replay answer (0 = service default)")
    p.add_argument("--max-chunk-bytes", type=int, default=0, help="bound per replay response (0 = service default, else 4096..1048576)")
    p.add_argument("--instance-id", default="", help="agent instance id for the registry (default python-<hostname>)")
    p.add_argument("--proto-dir", default=str(REPO_PROTO_DIR), help="directory holding kubemeta/v1/*.proto")
    p.add_argument("-v", "--verbose", action="store_true", help="log every replay")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
