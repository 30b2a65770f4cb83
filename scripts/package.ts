// `npm run package`: writes dist/gomemdoctor, one linux-x64 executable that runs with no node,
// npm, node_modules or repository beside it. It is a Node single-executable application (SEA):
// this Node binary with a blob injected by postject (Node's own documented route, kept by the
// Node project; pkg is archived and nexe/boxednode build Node from source or download base
// binaries, which this machine cannot). The blob holds the CLI bundled as CommonJS (what Node
// 20's SEA runs), V8's code cache for it, and these assets:
//   package.json            the manifest (--version)
//   report-client.json      the HTML report's browser client and CSS, built now
//   demo-capture.json       the demo's capture directory, every file base64
//   better_sqlite3.node     better-sqlite3's compiled addon, loaded by src/store/native.ts
// An argument writes the executable there instead of dist/gomemdoctor (a test's own copy).
import { execFileSync, spawnSync } from 'node:child_process'
import {
  chmod,
  copyFile,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { build } from 'esbuild'
import { DEMO_ASSET } from '../src/cli/commands/demo.ts'
import { buildClient, CLIENT_ASSET } from '../src/cli/html-report.ts'
import { INSTALL_ROOT } from '../src/install-root.ts'
import { SQLITE_ADDON_ASSET } from '../src/store/native.ts'

/** Node's fixed marker that postject flips to tell the binary it carries a blob. */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'
const DEMO_SCENARIO = 'madv-free-retention'

const output = resolve(process.argv[2] ?? join(INSTALL_ROOT, 'dist', 'gomemdoctor'))
const work = join(INSTALL_ROOT, 'build', 'sea', String(process.pid))
const started = Date.now()
const require = createRequire(import.meta.url)

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`package: builds for linux-x64 only (this is ${process.platform}-${process.arch})`)
  process.exit(2)
}

await rm(work, { recursive: true, force: true })
await mkdir(work, { recursive: true })
try {
  const main = join(work, 'main.cjs')
  await build({
    entryPoints: [join(INSTALL_ROOT, 'src', 'executable.ts')],
    outfile: main,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minifySyntax: true,
    // esbuild is only imported to build the report client from sources, which the executable
    // never does (it carries the client built here).
    external: ['esbuild'],
    // A CommonJS bundle has no import.meta; the modules that use it get the executable's URL.
    define: { 'import.meta.url': '__gomemdoctorUrl' },
    banner: { js: "const __gomemdoctorUrl = require('node:url').pathToFileURL(__filename).href;" },
    legalComments: 'none',
    logLevel: 'warning',
  })

  const assets: Record<string, string> = {
    'package.json': join(INSTALL_ROOT, 'package.json'),
    [CLIENT_ASSET]: await writeJson(work, CLIENT_ASSET, await buildClient()),
    [DEMO_ASSET]: await writeJson(work, DEMO_ASSET, await demoCapture()),
    [SQLITE_ADDON_ASSET]: join(
      dirname(require.resolve('better-sqlite3/package.json')),
      'build',
      'Release',
      'better_sqlite3.node',
    ),
  }
  const blob = join(work, 'sea.blob')
  const config = {
    main,
    output: blob,
    disableExperimentalSEAWarning: true,
    // V8's compiled code for the bundle, so start-up skips compiling it.
    useCodeCache: true,
    assets,
  }
  await writeFile(join(work, 'sea-config.json'), JSON.stringify(config, null, 2))
  // Its one line of success is noise here; on failure execFileSync's error carries stderr.
  execFileSync(process.execPath, ['--experimental-sea-config', join(work, 'sea-config.json')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })

  // Node's symbol tables are a seventh of its 94 MiB (86 MiB stripped) and nothing reads them
  // (addons link against the dynamic symbols, which strip keeps). Stripped before the blob goes
  // in: stripping after injection would cut the blob's note out again.
  const exe = join(work, 'gomemdoctor')
  await copyFile(process.execPath, exe)
  await chmod(exe, 0o755)
  const stripped = spawnSync('strip', [exe], { stdio: 'ignore' }).status === 0
  // postject's own CLI in a child: its ELF library warns about every note section of a
  // stripped binary (harmless), which is shown only when the injection fails.
  const postject = join(dirname(require.resolve('postject/package.json')), 'dist', 'cli.js')
  const injected = spawnSync(
    process.execPath,
    [postject, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE],
    { encoding: 'utf8' },
  )
  if (injected.status !== 0)
    throw new Error(`postject failed:\n${injected.stdout}${injected.stderr}`)

  await mkdir(dirname(output), { recursive: true })
  const tmp = `${output}.${process.pid}.tmp`
  await copyFile(exe, tmp)
  await chmod(tmp, 0o755)
  await rename(tmp, output)
  const size = (await stat(output)).size
  console.log(
    `packed ${relative(process.cwd(), output) || output}: ${(size / 2 ** 20).toFixed(1)} MiB (node ${process.version}${stripped ? ', symbols stripped' : ''}) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  )
} finally {
  await rm(work, { recursive: true, force: true })
}

async function writeJson(dir: string, name: string, value: unknown): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, JSON.stringify(value))
  return path
}

/** The newest capture of the demo scenario, as the demo command reads it from the repository. */
async function demoCapture(): Promise<{ version: string; files: Record<string, string> }> {
  const root = join(INSTALL_ROOT, 'testdata', 'captures')
  const version = (await readdir(root)).sort().at(-1)
  if (!version) throw new Error(`no captures in ${root}`)
  const dir = join(root, version, DEMO_SCENARIO)
  const files: Record<string, string> = {}
  const walk = async (sub: string): Promise<void> => {
    for (const entry of await readdir(join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name
      if (entry.isDirectory()) await walk(rel)
      else files[rel] = (await readFile(join(dir, rel))).toString('base64')
    }
  }
  await walk('')
  return { version, files }
}
