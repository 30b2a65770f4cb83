import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Command } from 'commander'
import { UsageError } from '../errors.ts'
import {
  liveCollectOptions,
  liveTarget,
  refuseLiveOnlyFlags,
  withLiveOptions,
} from './live-options.ts'

const defaults = { interval: '1s', smapsMaxRss: '16GiB', httpTimeout: '5s' }

test('a live target comes from the argument or --pid/--url, and is refused when missing or odd', () => {
  assert.deepEqual(liveTarget('record', '4242', {}), { pid: 4242 })
  assert.deepEqual(liveTarget('record', 'http://127.0.0.1:6060/', { pid: '7' }), {
    pid: 7,
    url: 'http://127.0.0.1:6060',
  })
  assert.throws(() => liveTarget('watch', undefined, {}), /watch needs a target: a PID or a URL/)
  assert.throws(() => liveTarget('watch', './dir', {}), /watch needs a PID or a URL, not "\.\/dir"/)
  assert.throws(() => liveTarget('record', '0', {}), UsageError)
})

test("collect()'s options from the flags, each bad flag named", () => {
  assert.deepEqual(liveCollectOptions({ pid: 1 }, { ...defaults, forceGc: true }), {
    pid: 1,
    intervalMs: 1000,
    smapsMaxRssBytes: 16 * 2 ** 30,
    httpTimeoutMs: 5000,
    forceGc: true,
    leakProfile: false,
  })
  assert.equal(liveCollectOptions({ pid: 1 }, { ...defaults, leakProfile: true }).leakProfile, true)
  const bad: [Partial<typeof defaults>, RegExp][] = [
    [{ interval: '50ms' }, /--interval must be at least 100ms/],
    [{ interval: 'soon' }, /--interval: cannot read "soon"/],
    [{ smapsMaxRss: 'lots' }, /--smaps-max-rss: cannot read "lots" as a size/],
    [{ httpTimeout: '-1s' }, /--http-timeout: cannot read "-1s"/],
  ]
  for (const [flags, message] of bad)
    assert.throws(() => liveCollectOptions({ pid: 1 }, { ...defaults, ...flags }), message)
})

test('every live command gets the same options with the same defaults', () => {
  const command = withLiveOptions(new Command('x'))
  assert.deepEqual(
    command.options.map(o => o.long),
    [
      '--pid',
      '--url',
      '--interval',
      '--smaps-max-rss',
      '--http-timeout',
      '--force-gc',
      '--leak-profile',
    ],
  )
  command.parse([], { from: 'user' })
  assert.deepEqual(command.opts(), defaults)
})

test('--force-gc and --leak-profile are refused where no live target can be asked', () => {
  refuseLiveOnlyFlags(defaults, './run')
  assert.throws(
    () => refuseLiveOnlyFlags({ ...defaults, leakProfile: true }, './run'),
    /^UsageError: --leak-profile needs a live target, not \.\/run$/,
  )
  assert.throws(
    () => refuseLiveOnlyFlags({ ...defaults, forceGc: true }, '--prometheus'),
    /--force-gc needs a live target, not --prometheus/,
  )
})
