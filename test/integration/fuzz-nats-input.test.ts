// Hostile and malformed input on NATS (issue 8): seeded fuzzing of every subject the service
// listens on — `kubemeta.<cluster>.replay`, `kubemeta.<cluster>.agents.register`, the ack
// inboxes of replay answers and the credential issuer's `kubemeta.<cluster>.credentials` — with random bytes, mutated valid requests and absurd field
// values, against `kubemeta serve` on the simulator and a real nats-server. Every request gets a
// well-formed answer in time, the service stays ready, commits nothing because of it, and
// consumers still converge. Then the consumer side: garbage on a node subject is counted by
// the SDK (badMessages) and its state stays the simulator's truth.
//
// Inputs per target: KUBEMETA_FUZZ_INPUTS (default 2,000); seed: KUBEMETA_FUZZ_SEED (default 8).
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect, headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { waitFor } from '../../src/core/index.ts';
import {
  CLUSTER_SCOPE,
  clusterSubjects,
  decodeRegisterAgentRequest,
  decodeRegisterAgentResponse,
  decodeReplayRequest,
  decodeReplayResponse,
  encodeRegisterAgentRequest,
  encodeReplayAck,
  encodeReplayRequest,
  newStreamId,
  nodeScope,
  readUpdateBatch,
  scopeEquals,
  type Scope,
  type StreamId,
} from '../../src/schema/index.ts';
import { ClusterClient, NodeAgentClient } from '../../src/sdk/index.ts';
import { readHeartbeat } from '../../src/sdk/connection.ts';
import { MetadataService } from '../../src/service/index.ts';
import { createOperatorSetup } from '../../src/bus/index.ts';
import { createAgentWorkload } from '../../src/sim/index.ts';
import { CredentialRefusal, decodeCredentialResponse, encodeCredentialRequest } from '../../src/schema/index.ts';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import { actualScope, diffScopes, expectedScopes } from '../helpers/cluster-truth.ts';
import { Prng, RawProto, Tally, absurdVersion, errorCodeName, fuzzSettings, hostileString, mutate, pool } from '../helpers/fuzz.ts';
import { heldUpdates } from '../helpers/sdk-truth.ts';
import { startServeEnv, type ServeEnv } from '../helpers/serve-env.ts';

const { inputs: INPUTS, seed: SEED } = fuzzSettings({ inputs: 2_000, seed: 8 });
const CLUSTER = 'test';
const subjects = clusterSubjects(CLUSTER);
/** Liveness bound per request: an answer that takes longer counts as hung. */
const ANSWER_TIMEOUT_MS = 15_000;

interface ReplayStatus {
  received: number;
  droppedNoReply: number;
  droppedBadReply: number;
  inFlight: number;
  queued: number;
  acks: number;
  strayAcks: number;
  outcomes: Record<string, number>;
}
interface AgentsStatus {
  received: number;
  droppedBadReply: number;
  assigned: number;
  returning: number;
  refused: number;
  pending: number;
}

describe('fuzzing the NATS subjects of kubemeta serve', () => {
  let env: ServeEnv;
  let service: MetadataService;
  let nc: NatsConnection;
  let nodes: string[];
  let streamId: StreamId;
  let head0: number;
  let watcher: NodeAgentClient;
  const clients: Array<{ close(): Promise<void> }> = [];

  const status = async (): Promise<{ replay: ReplayStatus; agents: AgentsStatus; head: number; streamId: string }> =>
    (await (await fetch(`${service.httpUrl}/status`)).json()) as never;
  const truthOf = (scope: string) => expectedScopes(env.engine.model).get(scope) ?? new Map();
  const converged = async (what: string, held: Array<[string, NodeAgentClient | ClusterClient]>): Promise<void> => {
    let last: string[] = [];
    await waitFor(
      () => {
        last = diffScopes(new Map(held.map(([scope]) => [scope, truthOf(scope)])), (scope) => actualScope(heldUpdates((held.find(([s]) => s === scope) as [string, NodeAgentClient | ClusterClient])[1].state)));
        return last.length === 0;
      },
      { what, timeoutMs: 60_000, intervalMs: 250 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${last.join('\n')}`);
    });
  };

  before(async () => {
    env = await startServeEnv({ seed: 31, nodes: 4, podsPerNode: 8, namespaces: 2 });
    // The credential issuer on (on a NATS without authentication: the issuer only signs), with
    // agent pods whose tokens are the valid inputs. A high API rate: every JWT-shaped input costs
    // a TokenReview, and the issuer's own rate is what the fuzzing is about, not the client's.
    const auth = await createOperatorSetup({ cluster: CLUSTER });
    const signingKeyFile = join(env.dir, 'issuer-signing-key.nk');
    await writeFile(signingKeyFile, auth.signingKey.seed);
    createAgentWorkload(env.engine.model);
    await waitFor(() => env.engine.model.list('Pod', { namespace: 'kubemeta' }).items.length >= 4, { what: 'the agent pods', timeoutMs: 10_000 });
    service = await MetadataService.start(env.serveConfig({ issuerSigningKeyFile: signingKeyFile, issuerAccount: auth.account.publicKey, issuerRate: '10000', issuerBurst: '100000', apiQps: '5000', apiBurst: '5000' }));
    await service.whenReady(AbortSignal.timeout(30_000));
    await waitFor(() => service.readiness()['nats'] === 'live', { what: 'the service to publish on NATS', timeoutMs: 10_000 });
    nc = await connect({ servers: env.nats.url });
    nodes = env.engine.model.list('Node').items.map((n) => n.object.metadata.name);
    // A consumer that runs through all the fuzzing.
    watcher = await NodeAgentClient.connect({ servers: env.nats.url, cluster: CLUSTER, node: nodes[0] as string, agentInstanceId: 'watcher', signal: AbortSignal.timeout(30_000) });
    clients.push(watcher);
    await converged('the watching agent to bootstrap', [[`node/${nodes[0]}`, watcher]]);
    streamId = service.streamId as StreamId;
    head0 = service.head;
  });

  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await nc?.close();
    await service?.drain();
    await env?.stop();
  });

  // ---- replay ---------------------------------------------------------------------------------

  /** A valid request (some refused on purpose by the server: after beyond the head). */
  const validReplay = (rnd: Prng, i: number): Uint8Array => {
    const scope: Scope = rnd.pick([CLUSTER_SCOPE, nodeScope(rnd.pick(nodes)), nodeScope(`fuzz-${rnd.int(1000)}.example`)]);
    const after = rnd.pick([0, rnd.int(head0 + 1), head0, head0 + 1 + rnd.int(10), 2 ** 53 - 1]);
    return encodeReplayRequest({
      scope,
      after,
      requestId: `fz-${i}-${'r'.repeat(rnd.int(120))}`,
      limit: rnd.pick([0, 1, rnd.int(500), 1_000_000]),
      maxChunkBytes: rnd.pick([0, 4096, 4096 + rnd.int(1_040_000)]),
      knownStreamId: rnd.pick([undefined, streamId, newStreamId()]),
    });
  };

  /** Fields with absurd values, wrong wire types, lying lengths, duplicates and unknown fields. */
  const absurdReplay = (rnd: Prng): Uint8Array => {
    const p = new RawProto();
    const n = rnd.int(9);
    for (let k = 0; k < n; k++) {
      switch (rnd.int(13)) {
        case 0: p.bytesField(1, hostileString(rnd)); break;
        case 1: p.bytesField(1, rnd.pick(['cluster', `node/${rnd.pick(nodes)}`])); break;
        case 2: p.uint(2, absurdVersion(rnd)); break;
        case 3: p.uint(3, rnd.pick([0, 1, 2 ** 32 - 1, 2 ** 32, 2n ** 64n - 1n, 1_000_001, -1])); break;
        case 4: p.bytesField(4, rnd.pick<string | Uint8Array>([streamId, streamId.toUpperCase(), `${streamId}0`, newStreamId(), hostileString(rnd)])); break;
        case 5: p.bytesField(5, hostileString(rnd)); break;
        case 6: p.bytesField(5, `ok-${rnd.int(1e6)}`); break;
        case 7: p.uint(6, rnd.pick([0, 1, 4095, 4096, 1 << 20, (1 << 20) + 1, 2 ** 32 - 1, -1])); break;
        case 8: p.tag(1 + rnd.int(8), rnd.pick([1, 3, 4, 5, 6, 7])).raw(rnd.bytes(rnd.int(9))); break;
        case 9: p.overlongVarint(1 + rnd.int(7)); break;
        case 10: p.bytesField(1 + rnd.int(6), rnd.bytes(rnd.int(10)), rnd.pick([1_000_000, 2 ** 31, 2 ** 35])); break;
        case 11: p.uint(rnd.pick([7, 99, 2 ** 29 - 1]), rnd.int(1000)); break;
        default: p.fixed64(rnd.pick([2, 3, 6]), absurdVersion(rnd)); break;
      }
    }
    return p.build();
  };

  it(`answers ${INPUTS} random, mutated and absurd replay requests with well-formed answers in time`, async (t: TestContext) => {
    const rnd = new Prng(SEED);
    const before = await status();
    const tally = new Tally();
    const byCategory = new Tally();
    const problems: string[] = [];
    const waiting = new Map<string, (msg: { data: Uint8Array; reply?: string }) => void>();
    const sub = nc.subscribe('_INBOX.fuzz-replay.>', {
      callback: (err, msg) => {
        if (!err) waiting.get(msg.subject.split('.')[2] as string)?.(msg);
      },
    });
    const inputs = Array.from({ length: INPUTS }, (_, i) => {
      const r = rnd.next();
      let category: string;
      let bytes: Uint8Array;
      if (r < 0.15) [category, bytes] = ['random', rnd.bytes(rnd.length(512))];
      else if (r < 0.55) [category, bytes] = ['mutated', mutate(rnd, validReplay(rnd, i)).bytes];
      else if (r < 0.85) [category, bytes] = ['absurd', absurdReplay(rnd)];
      else [category, bytes] = ['valid', validReplay(rnd, i)];
      // Some carry a requester header: random, long, or the same for many (one requester).
      let hdrs: MsgHdrs | undefined;
      if (rnd.chance(0.2)) {
        hdrs = headers();
        hdrs.set('kubemeta-requester', rnd.pick(['shared', 'x'.repeat(200), `h-${rnd.int(50)}`, '']));
      }
      return { category, bytes, hdrs };
    });
    await pool(INPUTS, 24, async (i) => {
      const input = inputs[i] as (typeof inputs)[number];
      byCategory.add(input.category);
      let decodable: boolean;
      let expectedId = '';
      try {
        expectedId = decodeReplayRequest(input.bytes).requestId;
        decodable = true;
      } catch {
        decodable = false;
      }
      const outcome = await new Promise<string>((resolve) => {
        let expected = 0;
        let snapshot = false;
        const timer = setTimeout(() => resolve('TIMEOUT'), ANSWER_TIMEOUT_MS);
        const finish = (o: string): void => {
          clearTimeout(timer);
          waiting.delete(String(i));
          resolve(o);
        };
        waiting.set(String(i), (msg) => {
          let m;
          try {
            m = decodeReplayResponse(msg.data);
          } catch (err) {
            return finish(`MALFORMED RESPONSE: ${(err as Error).message}`);
          }
          if (m.sequence !== expected++) return finish(`SEQUENCE JUMP to ${m.sequence}`);
          if (m.streamId !== streamId) return finish('WRONG STREAM ID');
          if (decodable && m.requestId !== expectedId) return finish('REQUEST ID NOT ECHOED');
          if (m.type === 'snapshotStart') snapshot = true;
          if (msg.reply) nc.publish(msg.reply, encodeReplayAck({ requestId: m.requestId, sequence: m.sequence }));
          if (m.type === 'end') return finish(snapshot ? 'completed(snapshot)' : 'completed(tail)');
          if (m.type === 'error') return finish(m.error.message.length > 10 ? errorCodeName(m.error.code) : 'ERROR WITHOUT MESSAGE');
        });
        nc.publish(subjects.replay, input.bytes, { reply: `_INBOX.fuzz-replay.${i}.r`, ...(input.hdrs ? { headers: input.hdrs } : {}) });
      });
      const name = `${decodable ? 'decodable' : 'undecodable'} → ${outcome}`;
      tally.add(name);
      const fine = decodable
        ? /^completed|^(VERSION_IN_FUTURE|INVALID_LIMIT|BUSY)$/.test(outcome)
        : /^(BAD_REQUEST|INVALID_SCOPE|INVALID_LIMIT)$/.test(outcome);
      if (!fine && problems.length < 20) problems.push(`input ${i} (${input.category}, seed ${SEED}): ${name}; bytes ${Buffer.from(input.bytes.subarray(0, 64)).toString('hex')}`);
    });
    sub.unsubscribe();
    t.diagnostic(`replay subject: ${INPUTS} inputs (seed ${SEED}; ${byCategory}); outcomes: ${tally}`);
    assert.deepEqual(problems, [], 'every request got a well-formed answer of the expected kind in time');
    const after = await status();
    assert.equal(after.replay.received - before.replay.received, INPUTS, 'the server saw every input');
    const sum = (s: ReplayStatus): number => Object.values(s.outcomes).reduce((a, b) => a + b, 0);
    assert.equal(sum(after.replay) - sum(before.replay), INPUTS, 'and ended each with exactly one outcome');
    assert.equal(after.replay.outcomes['internal'], before.replay.outcomes['internal'], 'no INTERNAL error');
    await waitFor(async () => (await status()).replay.inFlight === 0, { what: 'no answer left running', timeoutMs: 10_000 });
  });

  it(`ignores ${Math.ceil(INPUTS / 4)} garbage and forged acks on an answer's ack inbox; the answer completes intact`, async (t: TestContext) => {
    const rnd = new Prng(SEED + 1);
    const before = await status();
    const reply = '_INBOX.fuzz-ack.1';
    const sub = nc.subscribe(reply);
    const requestId = 'ack-fuzz';
    nc.publish(subjects.replay, encodeReplayRequest({ scope: CLUSTER_SCOPE, after: 0, requestId, maxChunkBytes: 4096 }), { reply });
    let expected = 0;
    let garbage = 0;
    let end: { head: number } | undefined;
    const deadline = setTimeout(() => sub.unsubscribe(), 60_000);
    for await (const msg of sub) {
      const m = decodeReplayResponse(msg.data);
      assert.equal(m.sequence, expected++, 'no response lost or reordered');
      assert.notEqual(m.type, 'error', m.type === 'error' ? m.error.message : '');
      if (m.type === 'end') {
        end = { head: m.head };
        break;
      }
      if (!msg.reply) continue;
      if (garbage === 0) {
        // The answer waits for this ack: spray its ack inbox first (and its neighbours), then ack honestly.
        const count = Math.ceil(INPUTS / 4);
        for (; garbage < count; garbage++) {
          const kind = rnd.int(4);
          const forged = encodeReplayAck({ requestId: rnd.pick([requestId, 'someone-else', 'x'.repeat(128)]), sequence: rnd.pick([m.sequence + 1, m.sequence + 100, 2 ** 32 - 1]) });
          const bytes = kind === 0 ? rnd.bytes(rnd.length(300)) : kind === 1 ? mutate(rnd, forged).bytes : kind === 2 ? new Uint8Array() : forged;
          nc.publish(rnd.chance(0.9) ? msg.reply : `${msg.reply.slice(0, msg.reply.lastIndexOf('.'))}.${rnd.pick(['999999', 'x', '-1'])}`, bytes);
        }
        await nc.flush();
      }
      nc.publish(msg.reply, encodeReplayAck({ requestId, sequence: m.sequence }));
    }
    clearTimeout(deadline);
    assert.ok(end, 'the answer ended with its end marker');
    assert.ok(garbage > 0, 'the ack inbox was fuzzed while the answer was open');
    const after = await status();
    t.diagnostic(`ack inbox: ${garbage} inputs (seed ${SEED + 1}); stray acks counted ${after.replay.strayAcks - before.replay.strayAcks}, acks taken ${after.replay.acks - before.replay.acks}; the answer (${expected} responses) completed`);
    assert.ok(after.replay.strayAcks - before.replay.strayAcks >= garbage / 2, 'garbage acks are counted as stray');
  });

  // ---- agent registration -------------------------------------------------------------------------

  const validRegistration = (rnd: Prng, i: number): Uint8Array =>
    encodeRegisterAgentRequest({
      nodeName: rnd.pick([rnd.pick(nodes), `fuzz-node-${rnd.int(20)}`, `a.${'b'.repeat(1 + rnd.int(60))}.c`]),
      agentInstanceId: rnd.pick([`fz-${i}`, `shared-${rnd.int(5)}`, 'i'.repeat(253)]),
      hostname: rnd.pick(['', 'host', 'h'.repeat(rnd.int(2000))]),
    });
  const absurdRegistration = (rnd: Prng): Uint8Array => {
    const p = new RawProto();
    const n = rnd.int(7);
    for (let k = 0; k < n; k++) {
      switch (rnd.int(9)) {
        case 0: p.bytesField(1, hostileString(rnd)); break;
        case 1: p.bytesField(1, rnd.pick(nodes)); break;
        case 2: p.bytesField(2, hostileString(rnd)); break;
        case 3: p.bytesField(2, rnd.pick(['', 'i'.repeat(253), 'i'.repeat(254)])); break;
        case 4: p.bytesField(3, hostileString(rnd)); break;
        case 5: p.tag(1 + rnd.int(4), rnd.pick([0, 1, 3, 4, 5, 6, 7])).raw(rnd.bytes(rnd.int(9))); break;
        case 6: p.overlongVarint(1 + rnd.int(4)); break;
        case 7: p.bytesField(1 + rnd.int(3), rnd.bytes(rnd.int(10)), rnd.pick([1_000_000, 2 ** 31])); break;
        default: p.uint(rnd.pick([4, 99]), absurdVersion(rnd)); break;
      }
    }
    return p.build();
  };

  it(`answers ${INPUTS} random, mutated and absurd registrations with a well-formed response in time`, async (t: TestContext) => {
    const rnd = new Prng(SEED + 2);
    const before = await status();
    const tally = new Tally();
    const byCategory = new Tally();
    const problems: string[] = [];
    const waiting = new Map<string, (data: Uint8Array) => void>();
    const sub = nc.subscribe('_INBOX.fuzz-reg.>', {
      callback: (err, msg) => {
        if (!err) waiting.get(msg.subject.split('.')[2] as string)?.(msg.data);
      },
    });
    await pool(INPUTS, 24, async (i) => {
      const r = rnd.next();
      let category: string;
      let bytes: Uint8Array;
      if (r < 0.15) [category, bytes] = ['random', rnd.bytes(rnd.length(512))];
      else if (r < 0.55) [category, bytes] = ['mutated', mutate(rnd, validRegistration(rnd, i)).bytes];
      else if (r < 0.85) [category, bytes] = ['absurd', absurdRegistration(rnd)];
      else [category, bytes] = ['valid', validRegistration(rnd, i)];
      byCategory.add(category);
      let decodable = true;
      try {
        decodeRegisterAgentRequest(bytes);
      } catch {
        decodable = false;
      }
      const outcome = await new Promise<string>((resolve) => {
        const timer = setTimeout(() => resolve('TIMEOUT'), ANSWER_TIMEOUT_MS);
        waiting.set(String(i), (data) => {
          clearTimeout(timer);
          waiting.delete(String(i));
          try {
            const res = decodeRegisterAgentResponse(data);
            if (res.ok) resolve(res.asid >= 1 && res.streamId === streamId ? 'registered' : 'BAD ASID OR STREAM');
            else resolve(res.error.message.length > 10 ? errorCodeName(res.error.code) : 'ERROR WITHOUT MESSAGE');
          } catch (err) {
            resolve(`MALFORMED RESPONSE: ${(err as Error).message}`);
          }
        });
        nc.publish(subjects.agentsRegister, bytes, { reply: `_INBOX.fuzz-reg.${i}.r` });
      });
      const name = `${decodable ? 'decodable' : 'undecodable'} → ${outcome}`;
      tally.add(name);
      const fine = decodable ? /^(registered|BUSY)$/.test(outcome) : /^(BAD_REQUEST|INVALID_SCOPE)$/.test(outcome);
      if (!fine && problems.length < 20) problems.push(`input ${i} (${category}, seed ${SEED + 2}): ${name}; bytes ${Buffer.from(bytes.subarray(0, 64)).toString('hex')}`);
    });
    sub.unsubscribe();
    const after = await status();
    t.diagnostic(`agents.register subject: ${INPUTS} inputs (seed ${SEED + 2}; ${byCategory}); outcomes: ${tally}; new agent records ${after.agents.assigned - before.agents.assigned}`);
    assert.deepEqual(problems, [], 'every registration got a well-formed response of the expected kind in time');
    assert.equal(after.agents.received - before.agents.received, INPUTS);
    assert.equal(after.agents.pending, 0);
  });

  // ---- credential issuer ----------------------------------------------------------------------

  const agentTokens = (): string[] =>
    env.engine.model.list('Pod', { namespace: 'kubemeta' }).items.map((p) =>
      env.api.tokens.issue('kubemeta', 'kubemeta-agent', { audiences: ['kubemeta'], expirationSeconds: 3600, pod: { name: p.object.metadata.name } }).token);
  const absurdCredentialRequest = (rnd: Prng, tokens: string[]): string => {
    const token = rnd.pick(tokens);
    const [h, p] = token.split('.') as [string, string, string];
    return rnd.pick([
      () => JSON.stringify({ token: hostileString(rnd), publicKey: nkeys.createUser().getPublicKey() }),
      () => JSON.stringify({ token, publicKey: rnd.pick(['', 'U', hostileString(rnd), nkeys.createAccount().getPublicKey(), 'U'.repeat(56)]) }),
      () => JSON.stringify({ token: `${h}.${p}.${Buffer.from(rnd.bytes(64)).toString('base64url')}`, publicKey: nkeys.createUser().getPublicKey() }),
      () => JSON.stringify({ token: `${h}.${Buffer.from(JSON.stringify({ exp: rnd.int(2 ** 31), aud: hostileString(rnd), 'kubernetes.io': { pod: { uid: hostileString(rnd) } } })).toString('base64url')}.x`, publicKey: nkeys.createUser().getPublicKey() }),
      () => JSON.stringify({ token: 'a'.repeat(rnd.pick([17_000, 100])), publicKey: nkeys.createUser().getPublicKey() }),
      () => JSON.stringify({ token: rnd.pick([5, null, [], {}, true]), publicKey: rnd.pick([5, null, {}]) }),
      () => JSON.stringify(rnd.pick([[], 'x', 42, null, { token }])),
    ])();
  };

  it(`answers ${Math.ceil(INPUTS / 2)} random, mutated and absurd credential requests with a well-formed answer in time`, async (t: TestContext) => {
    const count = Math.ceil(INPUTS / 2);
    const rnd = new Prng(SEED + 4);
    const tokens = agentTokens();
    const tally = new Tally();
    const byCategory = new Tally();
    const problems: string[] = [];
    const inbox = `_INBOX.${subjects.credentials}.fuzz`;
    const waiting = new Map<string, (data: Uint8Array) => void>();
    const sub = nc.subscribe(`${inbox}.>`, { callback: (err, msg) => void (!err && waiting.get(msg.subject.split('.').at(-1) as string)?.(msg.data)) });
    const codes = new Set<string>(Object.values(CredentialRefusal));
    await pool(count, 24, async (i) => {
      const r = rnd.next();
      let category: string;
      let bytes: Uint8Array;
      const valid = (): Uint8Array => encodeCredentialRequest({ token: rnd.pick(tokens), publicKey: nkeys.createUser().getPublicKey() });
      if (r < 0.15) [category, bytes] = ['random', rnd.bytes(rnd.length(512))];
      else if (r < 0.5) [category, bytes] = ['mutated', mutate(rnd, valid()).bytes];
      else if (r < 0.85) [category, bytes] = ['absurd', new TextEncoder().encode(absurdCredentialRequest(rnd, tokens))];
      else [category, bytes] = ['valid', valid()];
      byCategory.add(category);
      const outcome = await new Promise<string>((resolve) => {
        const timer = setTimeout(() => resolve('TIMEOUT'), ANSWER_TIMEOUT_MS);
        waiting.set(String(i), (data) => {
          clearTimeout(timer);
          waiting.delete(String(i));
          const res = decodeCredentialResponse(data);
          if (!res) resolve('MALFORMED RESPONSE');
          else if ('error' in res) resolve(codes.has(res.error.code) && res.error.message.length > 10 ? res.error.code : 'ERROR WITHOUT CODE OR MESSAGE');
          else resolve(nodes.includes(res.node) && res.jwt.split('.').length === 3 ? 'issued' : 'BAD CREDENTIALS');
        });
        nc.publish(subjects.credentials, bytes, { reply: `${inbox}.${i}` });
      });
      tally.add(`${category} → ${outcome}`);
      const fine = category === 'valid' ? outcome === 'issued' : /^(issued|CREDENTIALS_[A-Z_]+)$/.test(outcome) && outcome !== 'CREDENTIALS_UNAVAILABLE';
      if (!fine && problems.length < 20) problems.push(`input ${i} (${category}, seed ${SEED + 4}): ${outcome}; bytes ${Buffer.from(bytes.subarray(0, 64)).toString('hex')}`);
    });
    sub.unsubscribe();
    t.diagnostic(`credentials subject: ${count} inputs (seed ${SEED + 4}; ${byCategory}); outcomes: ${tally}`);
    assert.deepEqual(problems, [], 'every credential request got a well-formed answer of the expected kind in time');
    // Replies outside the issuer's inbox prefix (a scope subject, another inbox) are dropped, never answered.
    const before = ((await (await fetch(`${service.httpUrl}/status`)).json()) as { credentials: { droppedBadReply: number } }).credentials.droppedBadReply;
    for (const reply of [subjects.scope(nodeScope(nodes[0] as string)), '_INBOX.elsewhere.1', `_INBOX.${subjects.credentials}.*`]) {
      nc.publish(subjects.credentials, encodeCredentialRequest({ token: tokens[0] as string, publicKey: nkeys.createUser().getPublicKey() }), { reply });
    }
    await waitFor(async () => ((await (await fetch(`${service.httpUrl}/status`)).json()) as { credentials: { droppedBadReply: number } }).credentials.droppedBadReply === before + 3, { what: 'the bad replies to be dropped', timeoutMs: 5_000 });
  });

  it('a message without a reply subject, or with a kubemeta subject as reply, is counted and dropped', async () => {
    const before = await status();
    const listener = await connect({ servers: env.nats.url });
    const seen: string[] = [];
    listener.subscribe(`kubemeta.${CLUSTER}.>`, { callback: (err, msg) => void (err === null && msg.subject !== subjects.replay && msg.subject !== subjects.agentsRegister && msg.data.length > 0 && safeBatchScope(msg.data) === undefined && seen.push(msg.subject)) });
    await listener.flush();
    const request = encodeReplayRequest({ scope: nodeScope(nodes[1] as string), after: 0, requestId: 'deputy' });
    const registration = encodeRegisterAgentRequest({ nodeName: nodes[1] as string, agentInstanceId: 'deputy', hostname: '' });
    const replies = [subjects.scope(nodeScope(nodes[0] as string)), subjects.clusterScope, subjects.replay, 'kubemeta.other.cluster', '_INBOX.*', '_INBOX.>'];
    nc.publish(subjects.replay, request);
    nc.publish(subjects.agentsRegister, registration);
    for (const reply of replies) {
      nc.publish(subjects.replay, request, { reply });
      nc.publish(subjects.agentsRegister, registration, { reply });
    }
    await nc.flush();
    await waitFor(async () => {
      const s = await status();
      return s.replay.droppedBadReply - before.replay.droppedBadReply === replies.length && s.replay.droppedNoReply - before.replay.droppedNoReply === 1;
    }, { what: 'the replay server to drop them', timeoutMs: 10_000 });
    const after = await status();
    assert.equal(after.agents.droppedBadReply - before.agents.droppedBadReply, replies.length);
    await listener.flush();
    assert.deepEqual(seen, [], 'the service published nothing but updates on kubemeta subjects');
    await listener.close();
  });

  it('after the fuzzing: ready, nothing committed, and consumers old and new converge', async () => {
    const ready = await fetch(`${service.httpUrl}/readyz`);
    assert.equal(ready.status, 200, 'still ready');
    assert.equal((await fetch(`${service.httpUrl}/healthz`)).status, 200);
    assert.equal(service.streamId, streamId, 'same stream');
    assert.equal(service.head, head0, 'no update was committed because of the fuzzing');
    await converged('the watching agent to still hold its node', [[`node/${nodes[0]}`, watcher]]);
    const fresh = await NodeAgentClient.connect({ servers: env.nats.url, cluster: CLUSTER, node: nodes[1] as string, agentInstanceId: 'after-fuzz', signal: AbortSignal.timeout(30_000) });
    clients.push(fresh);
    const cluster = await ClusterClient.connect({ servers: env.nats.url, cluster: CLUSTER, signal: AbortSignal.timeout(30_000) });
    clients.push(cluster);
    const held: Array<[string, NodeAgentClient | ClusterClient]> = [[`node/${nodes[0]}`, watcher], [`node/${nodes[1]}`, fresh], ['cluster', cluster]];
    await converged('new consumers to bootstrap after the fuzzing', held);
    env.engine.step(150);
    await converged('every consumer to follow churn after the fuzzing', held);
  });

  // ---- the consumer side --------------------------------------------------------------------------

  it(`the SDK counts ${INPUTS} garbage messages on its node subject as bad and keeps the truth`, async (t: TestContext) => {
    const rnd = new Prng(SEED + 3);
    const node = nodes[0] as string;
    const subject = subjects.scope(nodeScope(node));
    // Genuine batches of this node and of the cluster scope, to mutate.
    const genuine: Uint8Array[] = [];
    const capture = nc.subscribe(`kubemeta.${CLUSTER}.>`, { callback: (err, msg) => void (err === null && msg.data.length > 0 && genuine.length < 200 && genuine.push(msg.data)) });
    await nc.flush();
    env.engine.step(120);
    await waitFor(() => genuine.length >= 5, { what: 'genuine batches to mutate', timeoutMs: 20_000 });
    capture.unsubscribe();
    await converged('the agent to follow the churn', [[`node/${node}`, watcher]]);
    const before = watcher.stats();
    const tally = new Tally();
    let predictedBad = 0;
    for (let i = 0; i < INPUTS; i++) {
      const kind = rnd.int(10);
      let data: Uint8Array;
      let hdrs: MsgHdrs | undefined;
      let category: string;
      if (kind < 3) [category, data] = ['random', rnd.bytes(1 + rnd.length(600))];
      else if (kind < 7) [category, data] = ['mutated', mutate(rnd, rnd.pick(genuine)).bytes];
      else if (kind < 8) {
        // A genuine batch (mostly of another scope) sent again on this scope's subject.
        category = 'genuine-resent';
        data = rnd.pick(genuine);
      } else {
        category = 'heartbeat-garbage';
        data = new Uint8Array();
        if (rnd.chance(0.8)) {
          hdrs = headers();
          if (rnd.chance(0.7)) hdrs.set('kubemeta-stream', rnd.pick([streamId.toUpperCase(), 'x', streamId.slice(1), '']));
          if (rnd.chance(0.7)) hdrs.set('kubemeta-head', rnd.pick(['-1', '1e3', '99999999999999999', 'abc', '']));
        }
      }
      const bad = predictBad(data, hdrs, nodeScope(node));
      if (bad) predictedBad++;
      tally.add(`${category}${bad ? '' : ' (decodes)'}`);
      nc.publish(subject, data, hdrs ? { headers: hdrs } : {});
      if (i % 200 === 199) await nc.flush();
    }
    await nc.flush();
    await waitFor(() => watcher.stats().badMessages - before.badMessages >= predictedBad, { what: `${predictedBad} bad messages to be counted`, timeoutMs: 20_000 });
    await converged('the agent to hold the truth after the garbage', [[`node/${node}`, watcher]]);
    await waitFor(() => watcher.inSync, { what: 'the agent to be in sync', timeoutMs: 20_000 });
    const s = watcher.stats();
    t.diagnostic(`node subject (consumer side): ${INPUTS} inputs (seed ${SEED + 3}): ${tally}; badMessages +${s.badMessages - before.badMessages} (predicted ${predictedBad}), duplicates +${s.duplicates - before.duplicates}, gaps +${s.gaps - before.gaps}, replays +${s.replays - before.replays}, streamResets +${s.streamResets - before.streamResets}, snapshots +${s.snapshots - before.snapshots}`);
    assert.ok(s.badMessages - before.badMessages <= INPUTS);
    // Still following: the next churn arrives and is applied.
    env.engine.step(60);
    await converged('the agent to follow churn after the garbage', [[`node/${node}`, watcher]]);
  });
});

/** What the SDK's ScopeSubscription counts as a bad message (its #onMessage checks). */
function predictBad(data: Uint8Array, hdrs: MsgHdrs | undefined, scope: Scope): boolean {
  const hb = readHeartbeat({ subject: '', data, ...(hdrs ? { headers: { get: (k: string) => hdrs.get(k), code: 0 } } : {}) });
  if (hb === 'invalid') return true;
  if (hb) return false;
  try {
    return !scopeEquals(readUpdateBatch(data).scope, scope);
  } catch {
    return true;
  }
}

function safeBatchScope(data: Uint8Array): Scope | undefined {
  try {
    return readUpdateBatch(data).scope;
  } catch {
    return undefined;
  }
}
