// `await using` stops the bus's closeable classes (Symbol.asyncDispose) as close() does, with a
// real nats-server. (ReplayServer, AgentRegistry, ScopeHeartbeat and ProcessRegistry are
// disposed in their own tests.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { CredentialIssuer, ScopePublisher, type AgentCredentialSigner } from '../../src/bus/index.ts';
import { clusterSubjects, newStreamId } from '../../src/schema/index.ts';
import { startNatsServer, type NatsServer } from '../../src/testing/nats-server.ts';

let nats: NatsServer;
let nc: NatsConnection;

before(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
});

after(async () => {
  await nc?.close();
  await nats?.stop();
});

describe('bus classes are AsyncDisposable', () => {
  it('a disposed ScopePublisher is closed', async () => {
    const history = { head: 0, readHistory: async () => [] };
    const publisher = new ScopePublisher({ connection: nc, cluster: 'dispose', streamId: newStreamId(), history, maxMessageBytes: 1 << 20 });
    {
      await using scoped = publisher;
      assert.equal(scoped.stats().state, 'live');
    }
    assert.equal(publisher.stats().state, 'closed');
  });

  it('a disposed CredentialIssuer takes no more requests', async () => {
    const subject = clusterSubjects('dispose').credentials;
    const issuer = new CredentialIssuer({
      connection: nc, cluster: 'dispose', signer: {} as AgentCredentialSigner, authorize: () => Promise.reject(new Error('not called')),
    });
    {
      await using scoped = issuer;
      scoped.start();
      nc.publish(subject, new Uint8Array(0));
      await nc.flush(); // the message reaches the subscription before the flush's PONG
      assert.equal(scoped.stats().received, 1);
    }
    nc.publish(subject, new Uint8Array(0));
    await nc.flush();
    assert.equal(issuer.stats().received, 1, 'unsubscribed');
  });
});
