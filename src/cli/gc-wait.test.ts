import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Diagnosis } from '../model/diagnosis.ts'
import type { Collection } from '../sources/collect.ts'
import { gcWait } from './gc-wait.ts'
import type { ProgressLine } from './progress.ts'

const run: Collection = { captures: { once: [], ticks: [] }, gaps: [], notes: [], sources: [] }

/** A wait over 10 s (at most 30 s) whose diagnoses answer `awaiting` in turn, and what it said. */
function waitWith(answers: (Diagnosis['awaitingGc'] | undefined)[]) {
  const said: string[] = []
  let diagnoses = 0
  const progress: ProgressLine = { update() {}, clear() {}, say: text => said.push(text) }
  const wait = gcWait({
    durationMs: 10_000,
    maxDurationMs: 30_000,
    intervalMs: 1000,
    diagnose: () => {
      const awaitingGc = answers[Math.min(diagnoses++, answers.length - 1)]
      return { awaitingGc } as Diagnosis
    },
    progress,
  })
  /** Ticks from 11 s on while extendWhile says so: the window that ends, in seconds. */
  const ticks = () => {
    let windowMs = 11_000
    while (wait.extendWhile(run, windowMs)) windowMs += 1000
    return windowMs / 1000 - 1
  }
  return { wait, said, ticks, diagnoses: () => diagnoses }
}

test('judged at the end of --duration: no wait, no note', () => {
  const { wait, said, ticks } = waitWith([undefined])
  assert.equal(ticks(), 10)
  assert.deepEqual(said, [])
  assert.equal(wait.note(), undefined)
})

test('one GC cycle short: samples on until the expected collection, judges again once, then stops', () => {
  // Asked at 11 s, the next collection in 4 s: sample to 11 + 4 + 1 s, then judge again.
  const { wait, said, ticks, diagnoses } = waitWith([
    { detectors: ['heap-growth'], inMs: 4000 },
    undefined,
  ])
  assert.equal(ticks(), 16)
  assert.equal(diagnoses(), 2)
  assert.match(
    said[0] ?? '',
    /heap-growth is one GC cycle short of a judgement after 10 s; sampling on until the next collection, due in about 4 s \(at most 30 s: --max-duration\)/,
  )
  assert.equal(said.length, 1)
  assert.match(wait.note() ?? '', /sampled past --duration 10 s for one more GC cycle, and saw it/)
})

test('never past --max-duration, and the note says the cycle did not come', () => {
  const { wait, ticks } = waitWith([{ detectors: ['heap-growth'], inMs: 60_000 }])
  assert.equal(ticks(), 30)
  assert.match(wait.note() ?? '', /up to --max-duration 30 s, and none came/)
  // --max-duration equal to --duration never extends.
  const none = gcWait({
    durationMs: 10_000,
    maxDurationMs: 10_000,
    intervalMs: 1000,
    diagnose: () => ({ awaitingGc: { detectors: ['heap-growth'] } }) as Diagnosis,
    progress: { update() {}, clear() {}, say() {} },
  })
  assert.equal(none.extendWhile(run, 11_000), false)
  assert.equal(none.note(), undefined)
})
