import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  assertInputError,
  assertSniffsOnlyItsOwn,
  fixture,
  HTML_PAGE,
  textCapture,
} from '../../../test/helpers/format-fixtures.ts'
import { parsePprofIndex, pprofIndex } from './pprof-index.ts'

test('reads the goroutine count from a real go1.19 /debug/pprof/ page', () => {
  const { goroutines } = parsePprofIndex(fixture('pprof-index', 'go1.19.8.html'))
  // The fixture was taken from memsick goroutine-leak --goroutines 2000, leaking 200 more a second.
  assert.ok(goroutines >= 2000 && goroutines < 10_000, String(goroutines))
})

test('reads the pre-1.11 layout too', () => {
  const old = '<html><body>\n10603\t<a href="goroutine?debug=1">goroutine</a><br>\n</body></html>'
  assert.deepEqual(parsePprofIndex(textCapture('pprof-index', old)), { goroutines: 10603 })
})

test('sniffs only the pprof index', () => {
  assertSniffsOnlyItsOwn(pprofIndex)
})

test('rejects a login page in one line', () => {
  assertInputError(
    () => parsePprofIndex(textCapture('pprof-index', HTML_PAGE, 'u')),
    /^u: not a net\/http\/pprof index page/,
  )
})
