import assert from 'node:assert/strict'
import { test } from 'node:test'
import { InputError } from '../../errors.ts'
import { type RawProfile, resolveProfile, WIDE_ID } from './pprof-resolve.ts'
import { ProtoError } from './pprof-wire.ts'

/** Two functions, two locations (ids given), two samples: [loc0, loc1] and [loc1]. */
function raw(locationIds: number[], sampleIds: number[], wide = new Map<number, number>()) {
  const profile: RawProfile = {
    source: 'x.pb.gz',
    sampleTypeIdx: [[1, 2]],
    periodTypeIdx: undefined,
    commentIdx: [],
    dropIdx: 0,
    keepIdx: 0,
    defaultIdx: 0,
    period: 0,
    timeNanos: 0,
    durationNanos: 0,
    strings: ['', 'inuse_space', 'bytes', 'main.leaf', 'main.main'],
    mappings: [],
    functions: {
      id: Float64Array.from([1, 2]),
      name: Float64Array.from([3, 4]),
      systemName: Float64Array.from([3, 4]),
      filename: Float64Array.from([0, 0]),
      startLine: Float64Array.from([0, 0]),
    },
    locations: {
      id: Float64Array.from(locationIds),
      address: Float64Array.from([0x1000, 0x2000]),
      mappingId: Float64Array.from([0, 0]),
      lineStart: Uint32Array.from([0, 1, 2]),
      lineFunctionId: Float64Array.from([1, 2]),
      lineNumber: Float64Array.from([10, 20]),
    },
    samples: {
      count: 2,
      width: 1,
      locationStart: Uint32Array.from([0, 2, 3]),
      // As the decoder keeps them: id − 1, the marker for a wide id.
      locationIds: Uint32Array.from(sampleIds, id => (id === WIDE_ID ? id : id - 1)),
      locationMax: Math.max(...sampleIds.map(id => (id === WIDE_ID ? id : id - 1))),
      wideIds: wide,
      values: Float64Array.from([100, 50]),
      labelStart: Uint32Array.from([0, 0, 0]),
      labelKey: new Uint32Array(0),
      labelStr: new Uint32Array(0),
      labelNum: new Float64Array(0),
      labelUnit: new Uint32Array(0),
      labelStringMax: 0,
    },
  }
  return profile
}

test('resolves Go-numbered ids (1..n) and any other numbering to the same indexes', () => {
  const go = resolveProfile(raw([1, 2], [1, 2, 2]))
  assert.deepEqual([...go.samples.location], [0, 1, 1])
  const sparse = resolveProfile(raw([900, 7], [900, 7, 7]))
  assert.deepEqual([...sparse.samples.location], [0, 1, 1])
  const wide = resolveProfile(raw([2 ** 40, 7], [WIDE_ID, 7, 7], new Map([[0, 2 ** 40]])))
  assert.deepEqual([...wide.samples.location], [0, 1, 1])
  assert.deepEqual(go.functions.name, ['main.leaf', 'main.main'])
  assert.deepEqual(go.sampleTypes, [{ type: 'inuse_space', unit: 'bytes' }])
})

test('names what is wrong: a missing location, a duplicate or zero id, a string past the table', () => {
  assert.throws(() => resolveProfile(raw([1, 2], [1, 3, 2])), /sample names location 3/)
  assert.throws(() => resolveProfile(raw([5, 5], [5, 5, 5])), /duplicate location id 5/)
  assert.throws(() => resolveProfile(raw([0, 2], [2, 2, 2])), ProtoError)
  const badString = raw([1, 2], [1, 2, 2])
  badString.samples.labelStringMax = 9
  assert.throws(
    () => resolveProfile(badString),
    (error: unknown) =>
      error instanceof InputError &&
      /^x\.pb\.gz: a sample label names string 9, past the end of the string table \(5 strings\)$/.test(
        error.message,
      ),
  )
  const widthMismatch = raw([1, 2], [1, 2, 2])
  widthMismatch.samples.width = 2
  assert.throws(() => resolveProfile(widthMismatch), /2 values for 1 sample types/)
})
