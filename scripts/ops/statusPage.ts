import * as http from "http";
import type { AddressInfo } from "net";
import { CHARTS, type EnvironmentStatus, type MetricsClient } from "./status";

/** What the page reads: the environment's status, and each cell's metrics server for the charts. */
export interface StatusSource {
    status(): Promise<EnvironmentStatus>;
    metricsServers(): Promise<Map<string, MetricsClient>>;
}

/**
 * `cellplane status --serve`: one page that shows every cell and charts its last hour, refreshing itself. The page
 * asks this server, which asks each cell's metrics server: the browser never needs the stack's CA.
 */
export function statusPageServer(source: StatusSource): http.Server {
    const server = http.createServer((request, response) => {
        const url = new URL(request.url ?? "/", "http://localhost");
        const reply = (status: number, type: string, body: string) => {
            response.writeHead(status, { "content-type": type, "cache-control": "no-store" });
            response.end(body);
        };
        // Only a page of this server: another site's page, rebinding its name to loopback, must not read the status.
        const { port } = server.address() as AddressInfo;
        if (![`127.0.0.1:${port}`, `localhost:${port}`].includes(request.headers.host ?? ""))
            return reply(421, "application/json", JSON.stringify({ error: `open the page at http://127.0.0.1:${port}/` }));
        const json = (value: unknown) => reply(200, "application/json", JSON.stringify(value));
        const failed = (error: Error) => reply(502, "application/json", JSON.stringify({ error: error.message }));
        if (url.pathname === "/") return reply(200, "text/html; charset=utf-8", PAGE);
        if (url.pathname === "/api/status") return void source.status().then(json, failed);
        if (url.pathname === "/api/charts") return void chartsOf(source).then(json, failed);
        reply(404, "application/json", JSON.stringify({ error: `${url.pathname}: the page reads / , /api/status and /api/charts` }));
    });
    return server;
}

/** cell → chart title → the last hour's points; a cell whose server does not answer has no charts. */
async function chartsOf(source: StatusSource): Promise<Record<string, Record<string, [number, number][]>>> {
    const servers = await source.metricsServers();
    const entries = await Promise.all(
        [...servers].map(async ([cell, metrics]) => {
            try {
                const series = await Promise.all(
                    Object.entries(CHARTS).map(async ([title, query]) => [title, await metrics.lastHour(query)]),
                );
                return [cell, Object.fromEntries(series)];
            } catch {
                return [cell, {}];
            }
        }),
    );
    return Object.fromEntries(entries);
}

export async function listen(server: http.Server, port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** Plain HTML, CSS and script: no framework, nothing fetched from elsewhere. Each refresh starts when the last ended. */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Cellplane status</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 24px; background: #f6f7f9; color: #1d2330; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  #meta { color: #5b6475; margin-bottom: 16px; }
  #cells { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 16px; }
  .cell { background: #fff; border-radius: 8px; padding: 16px; border-top: 6px solid #999; box-shadow: 0 1px 3px #0002; }
  .cell.green { border-color: #1f9d55; } .cell.amber { border-color: #d69e2e; } .cell.red { border-color: #e3342f; }
  .verdict { font-weight: 700; text-transform: uppercase; }
  .green .verdict { color: #1f9d55; } .amber .verdict { color: #b7791f; } .red .verdict { color: #e3342f; }
  .reasons { color: #e3342f; margin: 6px 0; padding-left: 18px; }
  dl { display: grid; grid-template-columns: 130px 1fr; gap: 2px 8px; margin: 8px 0; } dt { color: #5b6475; }
  .up { color: #1f9d55; } .down { color: #e3342f; font-weight: 700; }
  .chart { margin-top: 8px; } .chart svg { width: 100%; height: 60px; background: #f0f3f8; border-radius: 4px; }
  .chart .title { color: #5b6475; font-size: 12px; }
</style>
</head>
<body>
<h1>Cellplane status</h1>
<div id="meta">loading…</div>
<div id="cells"></div>
<script>
const text = (value, digits, unit) =>
  value === undefined || value === null ? "—" : Number(value).toFixed(digits || 0) + (unit ? " " + unit : "");
const escape = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
function chart(title, series) {
  const points = (series || []).filter((p) => Number.isFinite(p[1]));
  if (points.length < 2) return '<div class="chart"><div class="title">' + escape(title) + ': no data yet</div></div>';
  const x1 = Date.now() / 1000, x0 = x1 - 3600, top = Math.max(...points.map((p) => p[1]), 1e-9);
  const path = points.map((p) => ((p[0] - x0) / 3600) * 400 + "," + (58 - (p[1] / top) * 54)).join(" ");
  return '<div class="chart"><div class="title">' + escape(title) + " (last hour, max " + text(top, 1) + ')</div>' +
    '<svg viewBox="0 0 400 60" preserveAspectRatio="none"><polyline fill="none" stroke="#3b6fd8" stroke-width="2" points="' + path + '"/></svg></div>';
}
function card(cell, charts) {
  return '<section class="cell ' + cell.verdict + '" data-cell="' + escape(cell.cell) + '" data-verdict="' + cell.verdict + '">' +
    '<div><span class="verdict">' + cell.verdict + "</span> <strong>" + escape(cell.cell) + "</strong> (" + escape(cell.residency) + ")</div>" +
    (cell.reasons.length ? '<ul class="reasons">' + cell.reasons.map((r) => "<li>" + escape(r) + "</li>").join("") + "</ul>" : "") +
    "<dl>" +
    "<dt>events / s</dt><dd>" + text(cell.eventsPerSecond, 1) + "</dd>" +
    "<dt>consumer lag</dt><dd>" + text(cell.lag) + "</dd>" +
    "<dt>freshness p99</dt><dd>" + text(cell.freshnessP99Seconds, 1, "s") + "</dd>" +
    "<dt>dead letters (1 h)</dt><dd>" + text(cell.deadLettersLastHour) + "</dd>" +
    '<dt>targets</dt><dd class="targets">' + (cell.targets.map((t) => '<span class="' + (t.up ? "up" : "down") + '">' + escape(t.job) + "</span>").join(", ") || "—") + "</dd>" +
    '<dt>routers</dt><dd class="routers">' + (cell.routers.map((r) => escape(r.residency) + " at " + escape(r.url)).join(", ") || "—") + "</dd>" +
    '<dt>tenants</dt><dd class="tenants">' + (cell.tenants.map(escape).join(", ") || "—") + "</dd>" +
    "</dl>" + Object.entries(charts || {}).map(([title, points]) => chart(title, points)).join("") + "</section>";
}
async function read(path) {
  const answer = await fetch(path);
  const body = await answer.json();
  if (!answer.ok) throw new Error(body.error);
  return body;
}
async function refresh() {
  try {
    const [status, charts] = await Promise.all([read("/api/status"), read("/api/charts")]);
    const drift = status.lastDriftCheck;
    document.getElementById("meta").textContent = "environment " + status.env + " at " + status.at + " · last drift check: " +
      (drift ? drift.at + " (" + drift.drifted + " drifted)" : "none recorded");
    document.getElementById("cells").innerHTML = status.cells.map((c) => card(c, charts[c.cell])).join("");
  } catch (error) {
    document.getElementById("meta").textContent = "the status could not be read: " + error.message;
  }
  setTimeout(refresh, 15000);
}
refresh();
</script>
</body>
</html>
`;
