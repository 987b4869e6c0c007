// SPDX-License-Identifier: MIT
// What every browser test needs: a real crier-demo on a free port (it exits by itself), Debian's
// Chromium driven by playwright-core, the demo's REST API from Node, and screenshots kept as
// test artifacts (CRIER_ARTIFACTS, set by CTest to a folder of the build tree).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const demoPath = process.env.CRIER_DEMO;
export const browserPath = process.env.CRIER_CHROMIUM ?? "/usr/bin/chromium";
export const artifacts = process.env.CRIER_ARTIFACTS ?? null;

/** Why the browser tests cannot run here, or false. */
export const skip = !demoPath || !existsSync(browserPath) ? "needs CRIER_DEMO and Chromium" : false;

/**
 * Starts crier-demo (bounded: it exits by itself after `seconds`) on `port` (0: any free one)
 * and resolves once it listens, with the port it printed.
 */
export function startDemo({ port = 0, seconds = 120, args = [] } = {}) {
  const child = spawn(demoPath, ["--port", String(port), "--duration", String(seconds), ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`demo did not start: ${out}`)), 10000);
    const early = (code) => reject(new Error(`demo exited early (${code}): ${out}`));
    child.on("exit", early);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /crier demo on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.off("exit", early);
        const port = Number(m[1]);
        resolve({ child, port, base: `http://127.0.0.1:${port}` });
      }
    });
  });
}

/** Ends a demo (SIGTERM unless told otherwise) and waits for it to be gone. */
export function stopDemo(demo, signal = "SIGTERM") {
  const { child } = demo;
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}

export function launch() {
  return chromium.launch({
    executablePath: browserPath,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** The demo's REST API from the test itself (another user of the app). */
export async function api(base, method, path, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await r.json().catch(() => null);
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

export const stats = (base) => api(base, "GET", "/api/realtime/stats");

/** Opens the app in a page and waits until it is live and loaded. */
export async function openApp(context, base, query = "") {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(`${base}/${query}`);
  await waitLoaded(page);
  return page;
}

export async function waitLoaded(page, timeout = 10000) {
  await page.waitForFunction(
    () =>
      ["open", "polling"].includes(window.crierDemo?.client.status) &&
      document.querySelectorAll("#horses tr").length > 0,
    null,
    { timeout },
  );
}

/** The horse names a page shows, in order. */
export const names = (page) =>
  page.$$eval("#horses tr td:first-child", (tds) => tds.map((td) => td.textContent));

/** Waits until the page shows exactly `expected` (names, in order). */
export async function waitNames(page, expected, timeout = 1000) {
  try {
    await page.waitForFunction(
      (want) => {
        const got = [...document.querySelectorAll("#horses tr td:first-child")].map(
          (td) => td.textContent,
        );
        return JSON.stringify(got) === JSON.stringify(want);
      },
      expected,
      { timeout },
    );
  } catch {
    throw new Error(
      `page shows ${JSON.stringify(await names(page))}, expected ${JSON.stringify(expected)}`,
    );
  }
}

export async function screenshot(page, name) {
  if (!artifacts) return;
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/** Events a page's handlers received, as "id type" lines, in order. */
export const received = (page) => page.evaluate(() => window.crierDemo.received.slice());

/**
 * Holds every `method` request to `pathname` made by `target` (a page or a context) until
 * `release()`: the test can then see what the page shows before the server has answered,
 * however slow the machine.
 */
export async function holdRequests(target, method, pathname) {
  const waiting = [];
  const matches = (url) => url.pathname === pathname;
  const hold = async (route) => {
    if (route.request().method() === method) await new Promise((r) => waiting.push(r));
    await route.continue();
  };
  await target.route(matches, hold);
  const release = () => {
    while (waiting.length) waiting.shift()();
  };
  return {
    get held() {
      return waiting.length;
    },
    release,
    /** Lets everything through from now on. */
    async stop() {
      await target.unroute(matches, hold);
      release();
    },
  };
}
