import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimApiError } from '../model/errors.ts';
import { contentTypeOf, negotiate, requestEncoding, watchContentTypeOf, type Negotiated } from './media.ts';
import { isTrue } from './routing.ts';

const NO_QUERY = new URLSearchParams();
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

function pick(accept: string | undefined, watch = false): string {
  const n = negotiate(accept, NO_QUERY, { watch });
  return `${n.encoding}/${n.representation.as}`;
}

function refused(accept: string, watch = false): SimApiError {
  try {
    negotiate(accept, NO_QUERY, { watch });
  } catch (err) {
    assert.ok(err instanceof SimApiError);
    return err;
  }
  assert.fail(`${accept} was accepted`);
}

test('Accept negotiation follows the API server: JSON by default, protobuf when preferred', () => {
  assert.equal(pick(undefined), 'json/object');
  assert.equal(pick(''), 'json/object');
  assert.equal(pick('*/*'), 'json/object');
  assert.equal(pick('application/*'), 'json/object');
  // client-go's typed clients (kubectl create, describe, drain).
  assert.equal(pick('application/vnd.kubernetes.protobuf,application/json'), 'protobuf/object');
  assert.equal(pick('application/vnd.kubernetes.protobuf, */*'), 'protobuf/object');
  // q-values order the clauses; concrete types go before wildcards of the same q.
  assert.equal(pick('application/vnd.kubernetes.protobuf;q=0.5,application/json'), 'json/object');
  assert.equal(pick('application/json;q=0.2,application/vnd.kubernetes.protobuf;q=0.9'), 'protobuf/object');
  assert.equal(pick('*/*;q=1,application/vnd.kubernetes.protobuf'), 'protobuf/object');
  assert.equal(pick('application/yaml'), 'yaml/object');
  assert.equal(pick('text/html,application/xhtml+xml,*/*;q=0.8'), 'json/object', 'a browser');
});

test('tables and metadata stay JSON: a protobuf clause asking for them is skipped', () => {
  assert.equal(pick(`${TABLE},application/json`), 'json/table');
  assert.equal(pick(`application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,${TABLE}`), 'json/table');
  assert.equal(
    pick('application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json'),
    'json/metadata',
  );
  assert.equal(pick('application/json;as=Table;v=v1;g=example.com,application/vnd.kubernetes.protobuf'), 'protobuf/object', 'an unknown conversion is skipped');
  assert.equal(pick('application/json;sv=v1,application/json'), 'json/object', 'no server-version transform');
  const onlyProtobufTable = refused('application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io');
  assert.equal(onlyProtobufTable.httpStatus, 406);
  assert.equal(onlyProtobufTable.message, 'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf');
});

test('watches: JSON or protobuf streams, never YAML', () => {
  assert.equal(pick('application/vnd.kubernetes.protobuf;stream=watch,application/json;stream=watch', true), 'protobuf/object');
  assert.equal(pick('application/vnd.kubernetes.protobuf,application/json', true), 'protobuf/object');
  assert.equal(pick('application/json;stream=watch', true), 'json/object');
  assert.equal(pick('application/json;stream=other,application/vnd.kubernetes.protobuf', true), 'protobuf/object', 'an unknown stream is skipped');
  const yaml = refused('application/yaml,application/json', true);
  assert.equal(yaml.httpStatus, 406);
  assert.match(yaml.message, /application\/json;stream=watch, application\/vnd\.kubernetes\.protobuf;stream=watch/);
  assert.equal(refused('text/plain').reason, 'NotAcceptable');
});

test('Content-Types of responses and requests', () => {
  const protobuf: Negotiated = { encoding: 'protobuf', representation: { as: 'object' } };
  assert.equal(contentTypeOf(protobuf, true), 'application/vnd.kubernetes.protobuf');
  assert.equal(watchContentTypeOf(protobuf), 'application/vnd.kubernetes.protobuf;stream=watch');
  assert.equal(watchContentTypeOf({ encoding: 'json', representation: { as: 'object' } }), 'application/json');
  assert.equal(contentTypeOf({ encoding: 'json', representation: { as: 'metadata', version: 'v1' } }, true), 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1');

  assert.equal(requestEncoding(undefined), 'json');
  assert.equal(requestEncoding('application/json; charset=utf-8'), 'json');
  assert.equal(requestEncoding('application/vnd.kubernetes.protobuf'), 'protobuf');
  assert.equal(requestEncoding('Application/YAML'), 'yaml');
  assert.throws(() => requestEncoding('text/plain'), (err: unknown) => err instanceof SimApiError && err.httpStatus === 415 && /accepted media types include: application\/json, application\/yaml, application\/vnd\.kubernetes\.protobuf/.test(err.message));
});

test('boolean query parameters read as the API server reads them (the Python client sends watch=True)', () => {
  for (const yes of ['true', 'True', 'TRUE', '1', 't', '']) assert.equal(isTrue(yes), true, yes);
  for (const no of [null, 'false', 'False', 'FALSE', '0']) assert.equal(isTrue(no), false, String(no));
});
