// Runs the store conformance suite (test/conformance/store.conformance.ts) on the etcd backend
// against one real etcd for the whole file, a fresh key prefix per store, and then what only etcd
// has: transaction limits, revision views and history compaction, timeouts with unknown outcome,
// crash and restart, auth, TLS with client certificates, and the space quota (servers of their own).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Etcd3, Range } from 'etcd3';
import {
  KEYSPACE,
  LogErrorCode,
  UpdateLog,
  isStoreError,
  openEtcdStore,
  type PendingUpdate,
  type StoreOp,
  type UpdateStore,
} from '../../src/log/index.ts';
import { generateNatsTls, makeTempDir, startEtcdServer, type EtcdServer, type NatsTlsFiles } from '../../src/testing/index.ts';
import { assertBytes, rejectsWithCode } from '../conformance/assertions.ts';
import { describeStoreConformance } from '../conformance/store.conformance.ts';
import { FaultyStore } from '../conformance/store-wrappers.ts';

const server = await startEtcdServer();
const admin = new Etcd3({ hosts: server.url });
after(async () => {
  admin.close();
  await server.stop();
});

const run = `kubemeta-test/${process.pid}-${Date.now().toString(36)}/`;
const prefixes = new WeakMap<UpdateStore, string>();
let next = 0;

/** History compaction after every commit, so the suite's bounded-storage test sees etcd's real size. */
async function openAt(prefix: string): Promise<UpdateStore> {
  const store = await openEtcdStore({ endpoints: [server.url], keyPrefix: prefix, historyCompaction: { retentionMs: 0, intervalMs: 0 } });
  prefixes.set(store, prefix);
  return store;
}

function prefixOf(store: UpdateStore): string {
  const prefix = prefixes.get(store);
  if (!prefix) throw new Error('store was not opened by this factory');
  return prefix;
}

const freshPrefix = (): string => `${run}${next++}/`;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const put = (key: string, value: string): StoreOp => ({ type: 'put', key, value: text(value) });
const pod = (i: number): PendingUpdate => ({
  objectKey: `Pod/p${i}`,
  kind: 'Pod',
  state: 'upsert',
  scopes: ['cluster', `node/n${i % 7}`],
  payload: text(`{"pod":${i},"pad":"${'x'.repeat(200)}"}`),
});

describeStoreConformance('etcd', {
  open: () => openAt(freshPrefix()),
  async reopen(store) {
    const prefix = prefixOf(store);
    await store.close();
    return openAt(prefix);
  },
  async wipe(store) {
    const prefix = prefixOf(store);
    await store.close();
    await admin.delete().prefix(prefix);
    return openAt(prefix);
  },
  cleanup: async () => {
    await admin.delete().prefix(run);
  },
});

describe('etcd store specifics', () => {
  it('derives its limits from the server flags: a commit over --max-txn-ops is refused, the log splits a big batch', async () => {
    const store = await openAt(freshPrefix());
    try {
      assert.equal(store.limits.maxOpsPerCommit, 128);
      assert.ok(store.limits.maxBytesPerCommit > 1_400_000 && store.limits.maxBytesPerCommit < 1.5 * 1024 * 1024);
      const tooMany = Array.from({ length: 129 }, (_, i) => put(`k/${i}`, 'v'));
      await rejectsWithCode(store.commit(tooMany), LogErrorCode.COMMIT_INVALID);
      assert.deepEqual(await store.scan(KEYSPACE), [], 'nothing applied');
      const counting = new FaultyStore(store);
      const log = await UpdateLog.open(counting);
      const batch = await log.commit(Array.from({ length: 300 }, (_, i) => pod(i)), { resourceVersions: { Pod: '42' } });
      assert.deepEqual([batch.firstVersion, batch.lastVersion], [1, 300]);
      assert.ok(counting.commits > 10, `300 updates on 2 scopes need many 128-op transactions, got ${counting.commits}`);
      const again = await UpdateLog.open(store);
      assert.deepEqual([again.head, again.scopeHead('node/n3'), again.resourceVersions()], [300, batch.byScope.get('node/n3')?.at(-1)?.version, { Pod: '42' }]);
      const tail = await again.readTail('cluster', 0, { limit: 1000 });
      assert.equal(tail.entries.length, 300);
      tail.entries.forEach((e, i) => assert.equal(e.prevVersion, i));
    } finally {
      await store.close();
    }
  });

  it('guards on absence with the key version: a present empty value is not absent', async () => {
    const store = await openAt(freshPrefix());
    try {
      await store.commit([{ type: 'put', key: 'e', value: new Uint8Array(0) }]);
      const err = await rejectsWithCode(store.commit([put('x', '1')], [{ key: 'e', equals: undefined }]), LogErrorCode.GUARD_FAILED);
      assert.ok(isStoreError(err) && err.key === 'e' && !err.ambiguous);
      await store.commit([put('x', '2')], [{ key: 'e', equals: new Uint8Array(0) }]);
      await rejectsWithCode(store.commit([put('x', '3')], [{ key: 'absent', equals: new Uint8Array(0) }]), LogErrorCode.GUARD_FAILED);
      assertBytes(await store.get('x'), text('2'));
    } finally {
      await store.close();
    }
  });

  it('keeps a read view readable while its own history compaction runs, and says so when etcd compacted it', async () => {
    const store = await openAt(freshPrefix());
    try {
      await store.commit([put('v', 'old')]);
      const view = await store.readView();
      for (let i = 0; i < 5; i++) await store.commit([put('v', `new-${i}`)]);
      assertBytes(await view.get('v'), text('old'), 'the store never compacts past an open view');
      view.close();
      const stale = await store.readView();
      await store.commit([put('v', 'newest')]);
      const { header } = await admin.kv.range({ key: Buffer.from('any') });
      await admin.kv.compact({ revision: header.revision, physical: true });
      await assert.rejects(stale.get('v'), (e: unknown) => isStoreError(e, LogErrorCode.READ_FAILED) && /compacted revision \d+/.test(e.message));
      stale.close();
      assertBytes(await store.get('v'), text('newest'));
    } finally {
      await store.close();
    }
  });

  it('refuses every call after close with LOG_STORE_CLOSED, views included', async () => {
    const store = await openAt(freshPrefix());
    await store.commit([put('a', '1')]);
    const view = await store.readView();
    await store.close();
    await store.close();
    for (const call of [
      () => store.commit([put('b', '2')]),
      () => store.get('a'),
      () => store.getMany(['a']),
      () => store.scan(KEYSPACE),
      () => store.readView(),
      () => store.sizeBytes(),
      () => view.get('a'),
    ]) {
      await rejectsWithCode(call(), LogErrorCode.STORE_CLOSED);
    }
  });

  it('fails to open with LOG_STORE_OPEN_FAILED, saying what to check, when no etcd answers', async () => {
    await assert.rejects(
      openEtcdStore({ endpoints: ['http://127.0.0.1:1'], requestTimeoutMs: 2_000, username: 'u', password: 'secret-pw' }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, LogErrorCode.STORE_OPEN_FAILED);
        assert.match(err.message, /no etcd member answered: check the endpoints/);
        assert.doesNotMatch(err.message, /secret-pw/);
        return true;
      },
    );
    await rejectsWithCode(openEtcdStore({ endpoints: ['https://127.0.0.1:1'], caFile: '/nonexistent' }), LogErrorCode.STORE_OPEN_FAILED);
    await rejectsWithCode(openEtcdStore({ endpoints: [server.url], keyPrefix: 'bad\nprefix' }), LogErrorCode.STORE_OPEN_FAILED);
  });
});

describe('etcd store with its own server', () => {
  let own: EtcdServer | undefined;
  before(async () => {
    own = await startEtcdServer({ maxTxnOps: 32, maxRequestBytes: 256 * 1024 });
  });
  after(() => own?.stop());
  const url = (): string => own?.url ?? '';

  it('works within a server started with smaller limits, and names the flag when the store is set higher than the server', async () => {
    const store = await openEtcdStore({ endpoints: [url()], keyPrefix: 'small/', maxTxnOps: 32, maxRequestBytes: 256 * 1024 });
    try {
      const log = await UpdateLog.open(store);
      assert.equal((await log.commit(Array.from({ length: 100 }, (_, i) => pod(i)))).lastVersion, 100);
    } finally {
      await store.close();
    }
    const mismatched = await openEtcdStore({ endpoints: [url()], keyPrefix: 'mismatch/', maxTxnOps: 64 });
    try {
      const err = await rejectsWithCode(mismatched.commit(Array.from({ length: 40 }, (_, i) => put(`k/${i}`, 'v'))), LogErrorCode.COMMIT_FAILED);
      assert.ok(isStoreError(err) && !err.ambiguous && /--max-txn-ops/.test(err.message));
      assert.deepEqual(await mismatched.scan(KEYSPACE), []);
    } finally {
      await mismatched.close();
    }
  });

  it('reports a commit that timed out as ambiguous; the log continues after whatever etcd applied', async () => {
    const server2 = own as EtcdServer;
    const store = await openEtcdStore({ endpoints: [url()], keyPrefix: 'timeout/', maxTxnOps: 32, maxRequestBytes: 256 * 1024, requestTimeoutMs: 1_000 });
    try {
      const log = await UpdateLog.open(store);
      await log.commit([pod(1)]);
      server2.pause();
      let err: unknown;
      try {
        err = await rejectsWithCode(log.commit([pod(2)]), LogErrorCode.COMMIT_FAILED);
      } finally {
        server2.resume();
      }
      assert.ok(isStoreError(err) && err.ambiguous, `a timeout leaves the outcome unknown: ${String(err)}`);
      const next = await log.commit([pod(3)]);
      const tail = await log.readTail('cluster', 0);
      assert.equal(tail.entries.length, next.firstVersion, 'the next version follows exactly what the store holds');
      tail.entries.forEach((e, i) => assert.deepEqual([e.version, e.prevVersion], [i + 1, i]));
    } finally {
      await store.close();
    }
  });

  it('keeps every committed update across an etcd crash and restart; a commit during the outage fails', async () => {
    const server2 = own as EtcdServer;
    const store = await openEtcdStore({ endpoints: [url()], keyPrefix: 'restart/', maxTxnOps: 32, maxRequestBytes: 256 * 1024, requestTimeoutMs: 3_000 });
    const log = await UpdateLog.open(store);
    const committed = await log.commit(Array.from({ length: 50 }, (_, i) => pod(i)));
    await server2.kill();
    try {
      const err = await rejectsWithCode(log.commit([pod(1000)]), LogErrorCode.COMMIT_FAILED);
      assert.ok(isStoreError(err));
    } finally {
      await server2.start();
      await store.close();
    }
    const reopened = await openEtcdStore({ endpoints: [url()], keyPrefix: 'restart/', maxTxnOps: 32, maxRequestBytes: 256 * 1024 });
    try {
      const again = await UpdateLog.open(reopened);
      assert.equal(again.streamId, log.streamId);
      assert.equal(again.head, committed.lastVersion);
      assert.equal((await again.commit([pod(2000)])).firstVersion, committed.lastVersion + 1);
    } finally {
      await reopened.close();
    }
  });
});

describe('etcd store with etcd auth', () => {
  let secured: EtcdServer | undefined;
  before(async () => {
    secured = await startEtcdServer();
    const root = new Etcd3({ hosts: secured.url });
    try {
      await root.user('root').create('root-pw');
      await root.user('root').addRole('root');
      await root.role('kubemeta-a').create();
      await root.role('kubemeta-a').grant({ permission: 'Readwrite', range: Range.prefix('kubemeta/a/') });
      await root.user('kubemeta').create('right-pw');
      await root.user('kubemeta').addRole('kubemeta-a');
      await root.auth.authEnable();
    } finally {
      root.close();
    }
  });
  after(() => secured?.stop());

  it('works with user and password on its prefix; a wrong password or a prefix it may not use fails to open, never showing the password', async () => {
    const endpoints = [secured?.url ?? ''];
    const store = await openEtcdStore({ endpoints, keyPrefix: 'kubemeta/a/', username: 'kubemeta', password: 'right-pw' });
    try {
      const log = await UpdateLog.open(store);
      assert.equal((await log.commit([pod(1)])).firstVersion, 1);
    } finally {
      await store.close();
    }
    for (const [options, pattern] of [
      [{ keyPrefix: 'kubemeta/a/', password: 'wrong-pw' }, /refused the user name or password/],
      [{ keyPrefix: 'kubemeta/b/', password: 'right-pw' }, /may not read the key prefix/],
    ] as const) {
      await assert.rejects(openEtcdStore({ endpoints, username: 'kubemeta', ...options }), (err: Error & { code?: string }) => {
        assert.equal(err.code, LogErrorCode.STORE_OPEN_FAILED);
        assert.match(err.message, pattern);
        assert.doesNotMatch(err.message, /-pw/);
        return true;
      });
    }
  });
});


describe('etcd store over TLS with client certificates', () => {
  let secured: EtcdServer | undefined;
  let dir: { path: string; remove: () => Promise<void> } | undefined;
  let tls: NatsTlsFiles;
  before(async () => {
    dir = await makeTempDir('etcd-tls');
    tls = await generateNatsTls(dir.path); // a throwaway CA, server and client certificate (nothing NATS-specific)
    secured = await startEtcdServer({ tls: { certFile: tls.certFile, keyFile: tls.keyFile, trustedCaFile: tls.caFile } });
  });
  after(async () => {
    await secured?.stop();
    await dir?.remove();
  });

  it('connects with the CA and a client certificate; without the certificate it fails to open', async () => {
    const endpoints = [secured?.url ?? ''];
    assert.match(endpoints[0] ?? '', /^https:/);
    const store = await openEtcdStore({ endpoints, keyPrefix: 'tls/', caFile: tls.caFile, certFile: tls.clientCertFile, keyFile: tls.clientKeyFile });
    try {
      const log = await UpdateLog.open(store);
      assert.equal((await log.commit([pod(1)])).firstVersion, 1);
    } finally {
      await store.close();
    }
    await rejectsWithCode(openEtcdStore({ endpoints, keyPrefix: 'tls/', caFile: tls.caFile, requestTimeoutMs: 3_000 }), LogErrorCode.STORE_OPEN_FAILED);
    await assert.rejects(openEtcdStore({ endpoints: [endpoints[0]?.replace('https:', 'http:') ?? ''], caFile: tls.caFile }), /endpoints are http:\/\//);
  });
});

describe('etcd store on a full etcd', () => {
  let full: EtcdServer | undefined;
  before(async () => {
    full = await startEtcdServer({ quotaBackendBytes: 8 * 1024 * 1024 });
  });
  after(() => full?.stop());

  it('reports LOG_STORE_FULL when etcd exceeds its quota, applies nothing, and works once space is freed', async () => {
    const url = full?.url ?? '';
    const store = await openEtcdStore({ endpoints: [url], keyPrefix: 'full/' });
    const other = await openEtcdStore({ endpoints: [url], keyPrefix: 'other/' });
    const client = new Etcd3({ hosts: url });
    try {
      for (let i = 0; i < 100; i++) await other.commit([{ type: 'put', key: `junk/${i}`, value: new Uint8Array(60_000) }]);
      const log = await UpdateLog.open(store);
      const big = (i: number): PendingUpdate => ({ objectKey: `Pod/${i}`, scopes: ['cluster'], state: 'upsert', payload: new Uint8Array(100_000) });
      let error: unknown;
      for (let i = 0; i < 100 && !error; i++) await log.commit([big(i)]).catch((err: unknown) => (error = err));
      assert.ok(isStoreError(error, LogErrorCode.STORE_FULL), `expected STORE_FULL, got ${String(error)}`);
      assert.match((error as Error).message, /etcdctl alarm disarm/);
      const head = log.head;
      // etcd may apply the transaction that crosses its quota and still answer NOSPACE: the
      // failed commit is either absent or whole, and the error says its outcome is unknown.
      assert.equal((error as { ambiguous?: boolean }).ambiguous, true);
      const visible = (await log.readTail('cluster', 0, { limit: 1000 })).scopeHead;
      assert.ok(visible === head || visible === head + 1, `the failed commit is absent or whole: scope head ${visible}, log head ${head}`);
      await other.commit([{ type: 'deleteRange', start: 'junk/', end: 'junk0' }]); // a delete-only Txn passes the alarm
      const { header } = await client.kv.range({ key: Buffer.from('any') });
      await client.kv.compact({ revision: header.revision, physical: true });
      await client.maintenance.defragment({});
      const { alarms } = await client.maintenance.alarm({ action: 'Get', alarm: 'None', memberID: 0 });
      assert.ok(alarms.length > 0, 'etcd raised its NOSPACE alarm');
      for (const a of alarms) await client.maintenance.alarm({ action: 'Deactivate', alarm: a.alarm, memberID: a.memberID });
      // The next commit re-reads the heads: it never reuses the version of a commit that applied.
      assert.equal((await log.commit([big(1000)])).firstVersion, visible + 1);
    } finally {
      client.close();
      await other.close();
      await store.close();
    }
  });
});
