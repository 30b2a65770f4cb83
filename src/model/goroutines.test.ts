import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { parsePprof } from '../sources/formats/pprof.ts'
import { bucketGoroutines } from './goroutine-buckets.ts'
import { goroutinesFromProfile, isStandardLibrary, packageOf } from './goroutines.ts'

test('turns a real proto goroutine profile into counted stacks that agree with debug=1', () => {
  const path = 'testdata/formats/pprof/go1.19-goroutine.pb.gz'
  const dump = goroutinesFromProfile(parsePprof(readFileSync(path), path))
  assert.equal(dump.form, 'proto')
  assert.ok(dump.total >= 313)
  const top = bucketGoroutines(dump).buckets[0]
  assert.equal(top?.count, 300)
  assert.equal(top?.site?.func, 'main.leakyWorker')
  // Proto stacks include the runtime frames the debug=1 text hides.
  assert.equal(top?.frames[0]?.func, 'runtime.gopark')
  assert.match(top?.site?.file ?? '', /profilefixture\/main\.go$/)
})

test('tells standard-library functions from user code', () => {
  assert.equal(packageOf('net/http.(*conn).serve'), 'net/http')
  assert.equal(packageOf('github.com/acme/orders/cache.(*LRU).Add'), 'github.com/acme/orders/cache')
  assert.ok(isStandardLibrary('sync.(*Mutex).Lock'))
  assert.ok(isStandardLibrary('runtime.gopark'))
  assert.ok(!isStandardLibrary('main.leakyWorker'))
  assert.ok(!isStandardLibrary('github.com/acme/orders.run'))
})
