import { createHash } from 'node:crypto'
import { escapeHtml, inlineCode, jsonForScript } from './escape.ts'
import type { FleetView } from './fleet-view.ts'
import type { ReportView } from './view-model.ts'

/** The bundled browser client (src/report/html/client), built by esbuild. */
export interface ClientAssets {
  js: string
  css: string
}

export interface PageOptions {
  /** Live mode: where the page's EventSource connects, token included. */
  eventsUrl?: string
}

/**
 * One self-contained page: styles, the client and the data inlined, nothing fetched (pprof's
 * loadCSS/loadJS). The Content-Security-Policy allows only this page's own script, by hash, so
 * even markup that slipped into the page could run nothing: no inline handlers, no other script,
 * no network beyond the live dashboard's own event stream.
 */
export function renderHtmlPage(
  view: ReportView | FleetView,
  assets: ClientAssets,
  options: PageOptions = {},
): string {
  const script = inlineCode(assets.js, 'script')
  const hash = createHash('sha256').update(script, 'utf8').digest('base64')
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${hash}'`,
    "style-src 'unsafe-inline'",
    'img-src data:',
    `connect-src ${options.eventsUrl ? "'self'" : "'none'"}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ')
  const config = options.eventsUrl ? { eventsUrl: options.eventsUrl } : {}
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(view.title)}</title>
<style>${inlineCode(assets.css, 'style')}</style>
</head>
<body>
<noscript><p class="noscript">This report draws with JavaScript; allow it for this file, or run <code>gomemdoctor report --json</code>.</p></noscript>
<div id="app"></div>
<script type="application/json" id="report-data">${jsonForScript(view)}</script>
<script type="application/json" id="page-config">${jsonForScript(config)}</script>
<script>${script}</script>
</body>
</html>
`
}
