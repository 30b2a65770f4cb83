// Tests start scenarios through the same launcher that `demo --live` uses.
import {
  e2eGoBuilds,
  GO_BUILDS,
  GO_RELEASES,
  type GoBuildName,
} from '../../src/demo/go-toolchains.ts'

export { GO_BUILDS, type GoBuildName } from '../../src/demo/go-toolchains.ts'
export * from '../../src/demo/memsick.ts'

/**
 * Defines a file's tests once per Go build that findings are proven on (Go 1.19, 1.26, 1.27 by
 * default; GOMEMDOCTOR_E2E_GO narrows it); each test's name starts with its build. `version` is
 * the exact toolchain, e.g. go1.26.8.
 */
export function onEveryGo(define: (go: GoBuildName, version: string) => void): void {
  for (const go of e2eGoBuilds()) define(go, GO_RELEASES[GO_BUILDS[go].release])
}
