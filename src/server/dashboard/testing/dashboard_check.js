// Drives the dashboard in headless Chromium (puppeteer-core): no console
// errors, inventory cells equal /api/v1/audit, the trend chart has points,
// a topology look-up by user and by node; screenshots as test artifacts.
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
    page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
    page.on("response", (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
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
  } finally {
    await browser.close();
  }
  for (const p of problems) fail(p);
  if (!process.exitCode) console.log("dashboard ok");
})().catch((e) => { fail(e.stack || String(e)); });
