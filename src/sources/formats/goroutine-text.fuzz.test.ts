import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { seededRandom } from '../../../test/helpers/random.ts'
import { InputError } from '../../errors.ts'
import { bucketGoroutines, SIMILARITIES } from '../../model/goroutine-buckets.ts'
import { parseGoroutineText } from './goroutine-text.ts'

/** Edits that hit the grammar: cut, drop or duplicate lines, swap characters that matter. */
function mutate(input: string, rnd: () => number): string {
  const at = () => Math.floor(rnd() * input.length)
  const pieces = [
    '\n',
    '\t',
    '(',
    ')',
    '[',
    ']',
    ':',
    'goroutine ',
    'created by ',
    ', 7 minutes',
    '+0x',
    '\r\n',
    '\0',
  ]
  switch (Math.floor(rnd() * 5)) {
    case 0:
      return input.slice(0, at())
    case 1: {
      const p = at()
      return (
        input.slice(0, p) +
        (pieces[Math.floor(rnd() * pieces.length)] as string) +
        input.slice(p + 1)
      )
    }
    case 2: {
      const lines = input.split('\n')
      const i = Math.floor(rnd() * lines.length)
      lines.splice(i, 1 + Math.floor(rnd() * 3))
      return lines.join('\n')
    }
    case 3: {
      const lines = input.split('\n')
      const i = Math.floor(rnd() * lines.length)
      lines.splice(i, 0, lines[Math.floor(rnd() * lines.length)] ?? '')
      return lines.join('\n')
    }
    default: {
      const p = at()
      const q = at()
      return input.slice(0, Math.min(p, q)) + input.slice(Math.max(p, q))
    }
  }
}

const dir = 'testdata/formats/goroutines'
const seeds = readdirSync(dir)
  .filter(f => /\.(txt|log)$/.test(f))
  .map(f => readFileSync(join(dir, f), 'utf8'))
  // The 270 KB SIGQUIT dump is cut to its first 40 KB to keep the run short.
  .map(s => s.slice(0, 40_000))

test('survives 4000 mutated real dumps with InputError or a result', () => {
  const rnd = seededRandom(1905)
  for (let i = 0; i < 4000; i++) {
    let input = mutate(seeds[i % seeds.length] as string, rnd)
    if (rnd() < 0.3) input = mutate(input, rnd)
    try {
      const dump = parseGoroutineText(Buffer.from(input), `case-${i}.txt`)
      const groups = bucketGoroutines(dump, SIMILARITIES[i % 3])
      assert.equal(groups.total, dump.total)
      // Frames merged while parsing, when only pointers differ, bucket as the exact ones do.
      if (groups.similarity === 'any-pointer') {
        const masked = parseGoroutineText(Buffer.from(input), `case-${i}.txt`, {
          maskPointers: true,
        })
        assert.deepEqual(bucketGoroutines(masked, 'any-pointer'), groups, `case ${i}`)
      }
    } catch (error) {
      if (!(error instanceof InputError))
        assert.fail(
          `case ${i}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        )
      assert.match(error.message, new RegExp(`^case-${i}\\.txt: `))
    }
  }
})
