// SPDX-License-Identifier: MIT
// js/react.js in a real browser with React 18 from npm: the seed's three hooks against the demo
// server. The test serves React's UMD builds and a small page of its own on the demo's origin.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as h from "./harness.mjs";

// Read from node_modules directly: the packages' export maps do not list their UMD files.
const umd = (pkg, file) =>
  readFileSync(new URL(`node_modules/${pkg}/umd/${file}`, import.meta.url), "utf8");
// js/README.md's React example, run as written.
const readme = readFileSync(new URL("../../js/README.md", import.meta.url), "utf8");
const readmeExample = [...readme.matchAll(/```js\n([\s\S]*?)```/g)]
  .map((m) => m[1])
  .find((code) => code.includes("useOptimisticUpdate"));

// `import ... from "react"` in js/react.js resolves, through the import map, to these shims
// over the UMD globals.
const files = {
  "/vendor/react.js": umd("react", "react.development.js"),
  "/vendor/react-dom.js": umd("react-dom", "react-dom.development.js"),
  "/vendor/react-shim.js": `const R = window.React; export default R;
export const { createContext, createElement, useCallback, useContext, useEffect, useMemo, useRef,
  useState, useSyncExternalStore } = R;`,
  "/vendor/react-dom-shim.js": "export const { createRoot } = window.ReactDOM;",
  "/readme-example.js": readmeExample,
  "/hooks.html": `<!doctype html><meta charset="utf-8"><title>hooks</title>
<script src="/vendor/react.js"></script><script src="/vendor/react-dom.js"></script>
<script type="importmap">{"imports":{"react":"/vendor/react-shim.js","react-dom/client":"/vendor/react-dom-shim.js"}}</script>
<div id="root"></div><div id="readme"></div><div id="provided"></div>
<script type="module">
import { createElement as h, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { RealtimeProvider, useRealtime, useRealtimeModule, useOptimisticUpdate } from "/js/react.js";
import { Horses as ReadmeHorses } from "/readme-example.js";

// The README example's options: the hooks of both components share one client.
const options = { channels: ["horses"] };
const api = (method, path, body) => fetch(path, { method, body: body && JSON.stringify(body) })
  .then(async (r) => { const j = await r.json(); if (!r.ok) throw new Error(j.error.message); return j; });

function Horses() {
  const { status, isConnected } = useRealtime(options);
  const { data, syncData, create } = useOptimisticUpdate([], "horses", options);
  const [log, setLog] = useState([]);
  useRealtimeModule("horses", (action, horse) => setLog((l) => [...l, action + " " + horse.id]), options);
  useEffect(() => {
    if (isConnected) api("GET", "/api/horses").then(syncData);
  }, [isConnected]);
  window.addHorse = (name) => create({ name }, (row) => api("POST", "/api/horses", { name, clientId: row.id }))
    .catch((e) => { window.lastError = e.message; });
  return h("div", null,
    h("p", { id: "status" }, status),
    h("ul", { id: "list" }, data.map((x) => h("li", { key: x.id, className: x.pending ? "pending" : "" }, x.name))),
    h("ol", { id: "log" }, log.map((line, i) => h("li", { key: i }, line))));
}
createRoot(document.getElementById("root")).render(h(Horses));
createRoot(document.getElementById("readme")).render(h(ReadmeHorses));
// A provider's client: its own RealtimeClient, which shares the stream like another tab would.
function LastEvent() {
  const { lastEvent, status } = useRealtime();
  return h("p", { id: "last" }, status + " " + (lastEvent ? lastEvent.type + " " + lastEvent.data.id : "-"));
}
createRoot(document.getElementById("provided"))
  .render(h(RealtimeProvider, { options: { channels: ["horses"] } }, h(LastEvent)));
</script>`,
};

test(
  "useRealtime, useRealtimeModule and useOptimisticUpdate with React 18",
  { skip: h.skip, timeout: 30000 },
  async () => {
    const demo = await h.startDemo();
    const browser = await h.launch();
    try {
      const context = await browser.newContext();
      await context.route(
        (url) => url.pathname in files,
        (route) => {
          const path = new URL(route.request().url()).pathname;
          route.fulfill({
            body: files[path],
            contentType: path.endsWith(".html") ? "text/html" : "text/javascript",
          });
        },
      );
      // Creates from the page wait for the test, so the optimistic row is seen before the answer.
      const creates = await h.holdRequests(context, "POST", "/api/horses");
      const page = await context.newPage();
      page.on("pageerror", (e) => console.error("page error:", e.message));
      await page.goto(`${demo.base}/hooks.html`);
      await page.waitForFunction(() => document.getElementById("status").textContent === "open");
      const list = () => page.$$eval("#list li", (lis) => lis.map((li) => li.textContent));
      const waitList = (want) =>
        page.waitForFunction(
          (want) =>
            JSON.stringify(
              [...document.querySelectorAll("#list li")].map((li) => li.textContent),
            ) === JSON.stringify(want),
          want,
          { timeout: 3000 },
        );
      await waitList(["Bucephalus", "Marengo", "Copenhagen"]);

      // Someone else creates and deletes: the module handler and the store both follow.
      const made = await h.api(demo.base, "POST", "/api/horses", { name: "Seabiscuit" });
      await waitList(["Bucephalus", "Marengo", "Copenhagen", "Seabiscuit"]);
      await h.api(demo.base, "DELETE", "/api/horses/2");
      await waitList(["Bucephalus", "Copenhagen", "Seabiscuit"]);
      await page.waitForFunction(() => document.querySelectorAll("#log li").length === 2);
      assert.deepEqual(await page.$$eval("#log li", (lis) => lis.map((li) => li.textContent)), [
        `created ${made.id}`,
        "deleted 2",
      ]);

      // Optimistic create from the page: pending at once, then one confirmed row.
      await page.evaluate(() => {
        window.addHorse("Phar Lap");
      });
      await page.waitForSelector("#list li.pending", { timeout: 5000 });
      assert.equal(creates.held, 1);
      creates.release();
      await page.waitForSelector("#list li.pending", { state: "detached", timeout: 3000 });
      await waitList(["Bucephalus", "Copenhagen", "Seabiscuit", "Phar Lap"]);
      // Refused: shown, then rolled back.
      await page.evaluate(() => {
        window.addHorse("");
      });
      await page.waitForSelector("#list li.pending", { timeout: 5000 });
      assert.equal(creates.held, 1);
      await creates.stop();
      await page.waitForFunction(() => window.lastError === "A horse needs a name.", null, {
        timeout: 3000,
      });
      assert.deepEqual(await list(), ["Bucephalus", "Copenhagen", "Seabiscuit", "Phar Lap"]);
      // The README's example, as written: it shows the same list, adds and removes.
      const readmeList = () =>
        page.$$eval("#readme li", (lis) => lis.map((li) => li.firstChild.textContent));
      // Its own subscription may take the last rows a moment after the main list.
      await page.waitForFunction(() => document.querySelectorAll("#readme li").length === 4, null, {
        timeout: 3000,
      });
      assert.deepEqual(await readmeList(), ["Bucephalus", "Copenhagen", "Seabiscuit", "Phar Lap"]);
      await page.click("#readme > section > button");
      await page.waitForFunction(() => document.querySelectorAll("#readme li").length === 5, null, {
        timeout: 3000,
      });
      await page.click("#readme li:first-child button");
      await waitList(["Copenhagen", "Seabiscuit", "Phar Lap", "Seabiscuit"]);
      assert.deepEqual(await readmeList(), ["Copenhagen", "Seabiscuit", "Phar Lap", "Seabiscuit"]);
      assert.deepEqual(
        (await h.api(demo.base, "GET", "/api/horses")).map((x) => x.name),
        ["Copenhagen", "Seabiscuit", "Phar Lap", "Seabiscuit"],
      );
      // The provider's client heard the same events, though the page holds one stream: the
      // hooks share one client, and the provider's client shares its stream as a tab would.
      await page.waitForFunction(
        () => document.getElementById("last").textContent === "open horses:deleted 1",
        null,
        { timeout: 3000 },
      );
      assert.equal((await h.stats(demo.base)).connectedClients, 1);
      await h.screenshot(page, "react-hooks");
    } finally {
      await browser.close();
      await h.stopDemo(demo);
    }
  },
);
