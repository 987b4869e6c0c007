// SPDX-License-Identifier: MIT
// The demo page in a real headless Chromium: events listed live through the browser's own
// EventSource, a banner when the server goes away, and recovery (with a `resync` row, since a
// restarted demo has a new epoch) when it comes back. Run by CTest with CRIER_DEMO set.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

const demo = process.env.CRIER_DEMO;
const browserPath = process.env.CRIER_CHROMIUM ?? "/usr/bin/chromium";

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

// Starts the demo (bounded: it exits by itself after `seconds`) and waits until it listens.
function startDemo(port, seconds = 60) {
  const child = spawn(demo, ["--port", String(port), "--duration", String(seconds)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`demo did not start: ${out}`)), 10000);
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("crier demo on")) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on("exit", (code) => reject(new Error(`demo exited early (${code}): ${out}`)));
  });
}

function stopped(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
  });
}

test("demo page lists live events, shows a banner on drop and recovers", {
  skip: !demo || !existsSync(browserPath) ? "needs CRIER_DEMO and Chromium" : false,
  timeout: 60000,
}, async () => {
  const port = await freePort();
  let server = await startDemo(port);
  const browser = await chromium.launch({
    executablePath: browserPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => document.getElementById("status").textContent === "live");
    // The first row is `connected`; module events follow within a few publishes (400 ms each).
    await page.waitForFunction(() => document.querySelectorAll("#events tr").length >= 4, null,
                               { timeout: 10000 });
    const types = await page.$$eval("#events td.type", (tds) => tds.map((td) => td.textContent));
    assert.ok(types.includes("connected"), `types: ${types}`);
    assert.ok(types.some((t) => /^(horses|tasks|finance|health):/.test(t)), `types: ${types}`);
    const ids = await page.$$eval("#events tr:not(:last-child) td.id", (tds) => tds.map((td) => td.textContent));
    assert.equal(new Set(ids).size, ids.length, "no event shown twice");
    assert.equal(await page.isVisible("#banner"), false);

    // The server goes away: the page must say so.
    server.kill("SIGKILL");
    await stopped(server);
    await page.waitForSelector("#banner.shown", { timeout: 10000 });
    assert.notEqual(await page.textContent("#status"), "live");

    // It comes back on the same port: the browser reconnects by itself.
    server = await startDemo(port);
    await page.waitForFunction(() => document.getElementById("status").textContent === "live",
                               null, { timeout: 20000 });
    assert.equal(await page.isVisible("#banner"), false);
    // A new process is a new epoch: the stream says `resync` instead of silently skipping.
    await page.waitForSelector("#events tr.resync", { timeout: 10000 });
  } finally {
    await browser.close();
    server.kill("SIGTERM");
    await stopped(server);
  }
});
