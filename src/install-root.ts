import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The directory gomemdoctor is installed in (its package.json), found by walking up from this
 * module. The same answer whether it runs from src/ through tsx or from the build/cli.mjs
 * bundle, where every module shares one import.meta.url.
 */
function findInstallRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest) && /"name":\s*"gomemdoctor"/.test(readFileSync(manifest, 'utf8')))
      return dir
    if (dirname(dir) === dir) throw new Error('gomemdoctor: cannot find its own package.json')
  }
}

export const INSTALL_ROOT = findInstallRoot()
