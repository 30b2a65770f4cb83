import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The directory gomemdoctor is installed in (its package.json), found by walking up from this
 * module, and that package.json's text. The same answer whether it runs from src/ through tsx or
 * from the build/cli.mjs bundle, where every module shares one import.meta.url.
 */
function findInstallRoot(): { dir: string; manifest: string } {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const path = join(dir, 'package.json')
    const manifest = existsSync(path) ? readFileSync(path, 'utf8') : ''
    if (/"name":\s*"gomemdoctor"/.test(manifest)) return { dir, manifest }
    if (dirname(dir) === dir) throw new Error('gomemdoctor: cannot find its own package.json')
  }
}

const found = findInstallRoot()

export const INSTALL_ROOT = found.dir

/** The version in gomemdoctor's package.json, read when it starts (for --version). */
export const VERSION = versionOf(found.manifest)

function versionOf(manifest: string): string {
  const { version } = JSON.parse(manifest) as { version?: unknown }
  if (typeof version !== 'string') throw new Error('gomemdoctor: its package.json has no version')
  return version
}
