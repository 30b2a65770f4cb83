import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Where gomemdoctor's own files come from. Three ways it runs, one answer each:
 * - from src/ through tsx, or from the build/cli.mjs bundle (where every module shares one
 *   import.meta.url): the directory holding its package.json, found by walking up;
 * - as the single executable dist/gomemdoctor (Node's single-executable application, built by
 *   scripts/package.ts): nothing lies beside it, so its files are assets inside the executable
 *   (embeddedAsset) and INSTALL_ROOT is only the executable's directory.
 */

/** Node's `node:sea` module: absent before Node 20.12, and only meaningful inside an executable. */
interface SeaModule {
  isSea(): boolean
  getRawAsset(key: string): ArrayBuffer
}

function seaModule(): SeaModule | undefined {
  try {
    // A static import would fail to load on Node 20 releases before node:sea existed.
    const sea = createRequire(import.meta.url)('node:sea') as SeaModule
    return sea.isSea() ? sea : undefined
  } catch {
    // No node:sea: certainly not running as a single executable.
    return undefined
  }
}

const sea = seaModule()

/** True inside dist/gomemdoctor: no package.json, src/, testdata/ or node_modules beside it. */
export const IN_EXECUTABLE = sea !== undefined

/**
 * An asset packed into the executable by scripts/package.ts (see ASSET_NAMES there), or
 * undefined when not running as the executable. The bytes are a copy: callers may keep them.
 */
export function embeddedAsset(name: string): Buffer | undefined {
  if (!sea) return undefined
  try {
    return Buffer.from(sea.getRawAsset(name))
  } catch {
    // An executable packed without this asset: the caller says what is missing.
    return undefined
  }
}

/**
 * The directory gomemdoctor is installed in (its package.json), found by walking up from this
 * module, and that package.json's text.
 */
function findInstallRoot(): { dir: string; manifest: string } {
  if (sea) {
    const manifest = embeddedAsset('package.json')?.toString('utf8')
    if (manifest === undefined) throw new Error('gomemdoctor: the executable carries no manifest')
    return { dir: dirname(process.execPath), manifest }
  }
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const path = join(dir, 'package.json')
    const manifest = existsSync(path) ? readFileSync(path, 'utf8') : ''
    if (/"name":\s*"gomemdoctor"/.test(manifest)) return { dir, manifest }
    if (dirname(dir) === dir) throw new Error('gomemdoctor: cannot find its own package.json')
  }
}

const found = findInstallRoot()

/**
 * The repository or package directory; inside the executable, the executable's own directory,
 * where none of the repository's files are (check IN_EXECUTABLE before reading from it).
 */
export const INSTALL_ROOT = found.dir

/** The version in gomemdoctor's package.json, read when it starts (for --version). */
export const VERSION = versionOf(found.manifest)

function versionOf(manifest: string): string {
  const { version } = JSON.parse(manifest) as { version?: unknown }
  if (typeof version !== 'string') throw new Error('gomemdoctor: its package.json has no version')
  return version
}
