import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScalarType, create, equals, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DescField, DescMessage } from '@bufbuild/protobuf';
import { ResourceUpdateSchema } from './gen/kubemeta/v1/resources_pb.js';
import type { ResourceUpdate } from './gen/kubemeta/v1/resources_pb.js';
import { writeResourceUpdate } from './payload-encoder.ts';
import { everyUpdateKind, seededRandom } from '../../test/fixtures/updates.ts';

for (const [name, update] of everyUpdateKind) {
  test(`the hand encoder writes exactly what the generated encoder writes for a ${name}`, () => {
    assert.deepEqual(writeResourceUpdate(update), toBinary(ResourceUpdateSchema, update));
  });
}

test('the hand encoder matches the generated encoder on random messages that set every field', () => {
  const random = seededRandom(0xc0dec);
  const cases = ResourceUpdateSchema.oneofs[0]!.fields;
  for (let i = 0; i < 3000; i++) {
    const field = cases[i % cases.length]!;
    // Every third message sets every field (so a field the hand encoder forgot always shows).
    const update = create(ResourceUpdateSchema, { object: { case: field.localName, value: randomInit(field.message!, random, i % 3 === 0) } } as never);
    const ours = writeResourceUpdate(update);
    const reference = toBinary(ResourceUpdateSchema, update);
    if (!Buffer.from(ours).equals(Buffer.from(reference))) {
      assert.fail(`message ${i} (${field.localName}) differs:\n ours ${Buffer.from(ours).toString('hex')}\n ref  ${Buffer.from(reference).toString('hex')}`);
    }
    assert.ok(equals(ResourceUpdateSchema, fromBinary(ResourceUpdateSchema, ours), update));
  }
});

test('an update with no object encodes to nothing, as protobuf does', () => {
  const empty: ResourceUpdate = create(ResourceUpdateSchema);
  assert.equal(writeResourceUpdate(empty).length, 0);
});

type Init = Record<string, unknown>;

/** Random values for every field of `desc`, read from the descriptor so new fields are covered. */
function randomInit(desc: DescMessage, random: () => number, full: boolean): Init {
  const init: Init = {};
  for (const f of desc.fields) init[f.localName] = randomField(f, random, full);
  return init;
}

function randomField(f: DescField, random: () => number, full: boolean): unknown {
  const count = (): number => (full ? 1 + Math.floor(random() * 3) : Math.floor(random() * 4));
  switch (f.fieldKind) {
    case 'scalar':
      return randomScalar(f.scalar, random, full);
    case 'enum':
      return randomEnum(f.enum.values.map((v) => v.number), random, full);
    case 'message':
      return randomInit(f.message, random, full);
    case 'list':
      return Array.from({ length: count() }, () =>
        f.listKind === 'scalar' ? randomScalar(f.scalar, random, full)
          : f.listKind === 'enum' ? randomEnum(f.enum.values.map((v) => v.number), random, full)
            : randomInit(f.message, random, full));
    case 'map': {
      assert.ok(f.mapKey === ScalarType.STRING && f.mapKind === 'scalar' && f.scalar === ScalarType.STRING, `extend the test for map ${f.name}`);
      return Object.fromEntries(Array.from({ length: count() }, () => [randomString(random, false), randomString(random, false)]));
    }
  }
}

function randomEnum(values: number[], random: () => number, full: boolean): number {
  const r = random();
  if (!full && r < 0.2) return 0;
  if (r > 0.95) return 1000 + Math.floor(random() * 100); // a value from a newer schema
  return values[1 + Math.floor(random() * (values.length - 1))]!;
}

function randomScalar(type: ScalarType, random: () => number, full: boolean): unknown {
  const zero = !full && random() < 0.25;
  switch (type) {
    case ScalarType.STRING:
      return zero ? '' : randomString(random, true);
    case ScalarType.UINT32:
      return zero ? 0 : [1, 127, 128, 16383, 16384, 0xffffffff][Math.floor(random() * 6)]! ;
    case ScalarType.BOOL:
      return !zero;
    case ScalarType.SFIXED64:
      return zero ? 0n : BigInt(Math.floor((random() - 0.1) * 2 ** 52)) * 512n + 7n;
    default:
      return assert.fail(`scalar type ${ScalarType[type]} is not covered: extend payload-encoder.ts and this test`);
  }
}

/** ASCII, non-ASCII and long (> 127 bytes, two-byte length) strings, including an empty one. */
function randomString(random: () => number, long: boolean): string {
  const r = random();
  if (long && r < 0.1) return 'x'.repeat(100 + Math.floor(random() * 20000));
  if (r < 0.2) return `näme-${Math.floor(random() * 1e6)}-日本-🙂`;
  if (r < 0.25) return '';
  return Math.floor(random() * 1e12).toString(36);
}
