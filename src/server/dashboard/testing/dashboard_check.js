// Drives the dashboard in headless Chromium (puppeteer-core): no console
// errors, inventory cells equal /api/v1/audit, the trend chart has points,
// a topology look-up by user and by node, the SQL console's rows equal the
// audit and its error points at the line and column; screenshots as test
// artifacts.
// Usage: node dashboard_check.js NODE_MODULES BASE_URL CHROMIUM ARTIFACT_DIR
"use strict";
const [modules, base, chromium, artifacts] = process.argv.slice(2);
const puppeteer = require(`${modules}/puppeteer-core`);

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exitCode = 1;
}

(async () => {
  const browser = await puppeteer.launch({
    executablePath: chromium, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const problems = [];
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1440, height: 900 });
    // The SQL console's deliberate error answers 400; nothing else may fail.
    const expected = (url) => (url || "").endsWith("/api/v1/sql");
    page.on("console", (m) => {
      if (m.type() === "error" && !expected(m.location() && m.location().url)) problems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
    page.on("response", (r) => { if (r.status() >= 400 && !expected(r.url())) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
    await page.goto(base + "/", { waitUntil: "networkidle0" });
    await page.waitForSelector("body[data-loaded=true]", { timeout: 20000 });

    // Inventory equals the audit query (both read now; the fleet has no churn).
    const audit = await (await fetch(base + "/api/v1/audit")).json();
    const cells = await page.$$eval("td[data-cluster][data-kind]", (tds) =>
      tds.map((td) => [td.dataset.cluster, td.dataset.kind, Number(td.textContent.replace(/,/g, ""))]));
    const shown = new Map(cells.map(([c, k, v]) => [`${c}/${k}`, v]));
    if (audit.rows.length === 0) fail("the audit query returned no rows");
    for (const [cluster, , kind, live] of audit.rows) {
      if (shown.get(`${cluster}/${kind}`) !== live) fail(`${cluster}/${kind}: dashboard ${shown.get(`${cluster}/${kind}`)}, audit ${live}`);
    }
    console.log(`inventory cells checked: ${audit.rows.length}`);

    // The trend chart has points.
    const points = await page.$eval("#trend-chart", (e) => Number(e.dataset.points || 0));
    const canvas = await page.$("#trend-chart canvas");
    if (points < 2 || !canvas) fail(`trend chart: ${points} points, canvas ${!!canvas}`);
    console.log(`trend points: ${points}`);
    await page.screenshot({ path: `${artifacts}/dashboard-overview.png`, fullPage: true });

    // Topology by user: the first of the top users.
    await page.waitForSelector("#top-users tbody a", { timeout: 10000 });
    const user = await page.$eval("#top-users tbody a", (a) => a.textContent);
    await page.$eval("#top-users tbody a", (a) => a.click());
    await page.waitForSelector("[data-topology-pods]", { timeout: 10000 });
    const pods = await page.$eval("[data-topology-pods]", (e) => Number(e.dataset.topologyPods));
    const topo = await (await fetch(`${base}/api/v1/topology?user=${encodeURIComponent(user)}`)).json();
    if (pods === 0 || pods !== topo.rows.length) fail(`topology of ${user}: dashboard ${pods} pods, API ${topo.rows.length}`);
    console.log(`topology of ${user}: ${pods} pods`);
    const topoBox = await page.$("#topo-result");
    await topoBox.screenshot({ path: `${artifacts}/dashboard-topology.png` });

    // Topology by node.
    const node = topo.rows[0][4], cluster = topo.rows[0][6];
    await page.click("label:has(input[name=by][value=node])");
    await page.$eval("#topo-q", (e, v) => { e.value = v; }, `${cluster}/${node}`);
    await page.click("#topo-form button");
    await page.waitForFunction((n) => {
      const h = document.querySelector("#topo-result h3");
      return h && h.textContent.includes(n);
    }, { timeout: 10000 }, node);
    const nodePods = await page.$eval("[data-topology-pods]", (e) => Number(e.dataset.topologyPods));
    if (nodePods === 0) fail(`node ${cluster}/${node} shows no pods`);
    console.log(`node ${cluster}/${node}: ${nodePods} pods`);
    await page.setViewport({ width: 1366, height: 768 });
    await page.screenshot({ path: `${artifacts}/dashboard-laptop.png` });

    // SQL console: the audit question, then a statement with an error pointing at its place.
    await page.$eval("#sql", (e) => e.scrollIntoView());
    await page.$eval("#sql-text", (e) => {
      e.value = "SELECT cluster, kind, live_count\nFROM ads_kind_count\nWHERE live_count <> 0\nORDER BY cluster, kind";
    });
    await page.click("#sql-run");
    await page.waitForFunction(() => {
      const r = document.querySelector("#sql-result");
      return r && !r.hidden && r.dataset.rows !== undefined;
    }, { timeout: 15000 });
    const sqlRows = await page.$$eval("#sql-table tbody tr", (trs) =>
      trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
    if (sqlRows.length !== audit.rows.length) fail(`SQL console: ${sqlRows.length} rows, audit ${audit.rows.length}`);
    for (let i = 0; i < Math.min(sqlRows.length, audit.rows.length); i++) {
      const [cluster, , kind, live] = audit.rows[i];
      const got = sqlRows[i];
      if (got[0] !== cluster || got[1] !== kind || Number(got[2].replace(/,/g, "")) !== live) {
        fail(`SQL console row ${i}: ${got.join("|")} vs audit ${cluster}|${kind}|${live}`);
      }
    }
    console.log(`SQL console rows: ${sqlRows.length}`);
    await (await page.$("#sql")).screenshot({ path: `${artifacts}/dashboard-sql.png` });
    await page.$eval("#sql-text", (e) => { e.value = "SELECT kind\nFROM dwd_objects\nWHERE nope = 1"; });
    await page.keyboard.down("Control");
    await page.focus("#sql-text");
    await page.keyboard.press("Enter");
    await page.keyboard.up("Control");
    await page.waitForSelector("#sql-error:not([hidden])", { timeout: 15000 });
    const err = await page.$eval("#sql-error", (e) => ({ line: e.dataset.line, column: e.dataset.column,
      message: e.querySelector("#sql-error-message").textContent, context: e.querySelector("#sql-error-context").textContent }));
    if (err.line !== "3" || err.column !== "7" || !err.message.includes("nope")) fail(`SQL error: ${JSON.stringify(err)}`);
    if (!err.context.endsWith("\n      ^")) fail(`SQL error caret: ${JSON.stringify(err.context)}`);
    const marked = await page.$eval("#sql-gutter .err", (e) => e.textContent.trim()).catch(() => "");
    if (marked !== "3") fail(`the gutter marks line ${marked}, not 3`);
    console.log(`SQL error at line ${err.line}, column ${err.column}: ${err.message}`);
    await (await page.$("#sql")).screenshot({ path: `${artifacts}/dashboard-sql-error.png` });
  } finally {
    await browser.close();
  }
  for (const p of problems) fail(p);
  if (!process.exitCode) console.log("dashboard ok");
})().catch((e) => { fail(e.stack || String(e)); });
