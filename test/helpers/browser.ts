// Debian's Chromium driven by playwright-core (research/deps.md §7): headless, no sandbox (tests
// run as root), nothing fetched from the network, a fresh profile each time. Never
// `npx playwright install`: the browser comes from apt (scripts/setup.sh).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'

export const CHROMIUM = process.env.GOMEMDOCTOR_CHROMIUM ?? '/usr/bin/chromium'

export interface Browser {
  context: BrowserContext
  close(): Promise<void>
}

export async function launchBrowser(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'gomemdoctor-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
  // A busy 2-core CI machine can take many seconds to lay out a big page: waits are generous, so
  // only a page that never renders fails (issue 10 saw Playwright's 30 s default run out).
  context.setDefaultTimeout(90_000)
  return {
    context,
    async close() {
      await context.close()
      await rm(profile, { recursive: true, force: true })
    },
  }
}

/**
 * Per canvas matching `selector`, the pixels in colour: what a chart draws of its data. Grids,
 * axes and their labels are grey, so a chart that drew its frame and nothing in it has none.
 * Written as page source, since tests type-check without the DOM.
 */
export function inkedPixels(page: Page, selector: string): Promise<number[]> {
  return page.evaluate(`[...document.querySelectorAll(${JSON.stringify(selector)})].map(canvas => {
    const ctx = canvas.getContext('2d')
    if (!ctx || canvas.width === 0 || canvas.height === 0) return 0
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data
    let inked = 0
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b] = [data[i], data[i + 1], data[i + 2]]
      if (data[i + 3] > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 60) inked++
    }
    return inked
  })`)
}

/** True when `selector` matches one canvas with lines on it (over 500 pixels in colour). */
export async function drewLines(page: Page, selector: string): Promise<boolean> {
  const inked = await inkedPixels(page, selector)
  return inked.length === 1 && (inked[0] ?? 0) > 500
}

/** A uPlot chart's legend labels, one per series drawn (uPlot's first entry, time, left out). */
export async function legendLabels(page: Page, chart: string): Promise<string[]> {
  const labels = page.locator(`${chart} .u-legend .u-series .u-label`)
  return (await labels.allTextContents()).slice(1)
}

/**
 * Opens a self-contained page from disk and waits until it has drawn. Anything it does besides
 * (a request for another URL, a page error, a console error, a dialog) is listed in `problems`,
 * so a test can assert the page stayed inert.
 */
export async function openFilePage(
  browser: Browser,
  file: string,
): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.context.newPage()
  const problems: string[] = []
  page.on('request', request => {
    if (request.url() !== `file://${file}`) problems.push(`request ${request.url()}`)
  })
  page.on('pageerror', error => problems.push(`page error ${error.message}`))
  page.on('console', message => {
    if (message.type() === 'error') problems.push(`console ${message.text()}`)
  })
  page.on('dialog', dialog => {
    problems.push(`dialog ${dialog.message()}`)
    void dialog.dismiss()
  })
  await page.goto(`file://${file}`)
  await page.waitForSelector('body[data-rendered="true"]')
  return { page, problems }
}
