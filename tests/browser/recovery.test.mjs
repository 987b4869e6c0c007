// SPDX-License-Identifier: MIT
// The stable app when things go wrong: the server restarts, the page misses more than the
// server's history holds, and the browser has no EventSource at all.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as h from "./harness.mjs";

let browser;
before(async () => {
  if (!h.skip) browser = await h.launch();
});
after(async () => {
  await browser?.close();
});

const serverNames = async (base) => (await h.api(base, "GET", "/api/horses")).map((x) => x.name);

/** Makes the page hidden or visible as a switched-away tab would be. */
function setHidden(page, hidden) {
  return page.evaluate((hidden) => {
    Object.defineProperty(document, "visibilityState", {
      value: hidden ? "hidden" : "visible",
      configurable: true,
    });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
}

test(
  "server restart: both pages show the banner, reconnect, and end with the server's list",
  { skip: h.skip, timeout: 40000 },
  async () => {
    let demo = await h.startDemo();
    const port = demo.port;
    try {
      const pages = [
        await h.openApp(await browser.newContext(), demo.base),
        await h.openApp(await browser.newContext(), demo.base),
      ];
      await h.api(demo.base, "POST", "/api/horses", { name: "Before restart" });
      for (const p of pages)
        await h.waitNames(p, ["Bucephalus", "Marengo", "Copenhagen", "Before restart"]);

      await h.stopDemo(demo, "SIGKILL");
      for (const p of pages)
        await p.waitForSelector("#banner.shown:not(.info)", { timeout: 10000 });
      await h.screenshot(pages[0], "restart-banner");

      // Back on the same port (a new process: new data, new epoch), and changed before the pages
      // are back: they must catch up by themselves.
      demo = await h.startDemo({ port });
      await h.api(demo.base, "POST", "/api/horses", { name: "While away" });
      await h.api(demo.base, "DELETE", "/api/horses/2");
      const expected = await serverNames(demo.base);
      assert.deepEqual(expected, ["Bucephalus", "Copenhagen", "While away"]);
      for (const p of pages) {
        await p.waitForFunction(() => window.crierDemo.client.status === "open", null, {
          timeout: 15000,
        });
        await h.waitNames(p, expected, 5000);
        assert.equal(await p.isVisible("#banner"), false);
        // A new epoch cannot be replayed from: the stream said resync and the page refetched.
        assert.ok((await p.evaluate(() => window.crierDemo.resyncs.length)) >= 1);
      }
      // And live again.
      await h.api(demo.base, "POST", "/api/horses", { name: "After restart" });
      for (const p of pages) await h.waitNames(p, [...expected, "After restart"], 1000);
      assert.deepEqual(await h.names(pages[1]), await serverNames(demo.base));
      await h.screenshot(pages[1], "restart-recovered");
      for (const p of pages) await p.context().close();
    } finally {
      await h.stopDemo(demo);
    }
  },
);

test(
  "a page away for a while replays what it missed; away too long, resync makes it refetch",
  { skip: h.skip, timeout: 30000 },
  async () => {
    const demo = await h.startDemo({ args: ["--history", "5"] });
    try {
      const page = await h.openApp(await browser.newContext(), demo.base);
      const refetches = () => page.evaluate(() => window.crierDemo.refetches);
      const first = await refetches();

      // Away (hidden, the client pauses), two changes, back: replayed from Last-Event-ID.
      await setHidden(page, true);
      await page.waitForFunction(() => window.crierDemo.client.status === "closed");
      await h.api(demo.base, "POST", "/api/horses", { name: "Missed one" });
      await h.api(demo.base, "POST", "/api/horses", { name: "Missed two" });
      await setHidden(page, false);
      await h.waitNames(
        page,
        ["Bucephalus", "Marengo", "Copenhagen", "Missed one", "Missed two"],
        3000,
      );
      assert.equal(await refetches(), first, "replayed, not refetched");
      const got = await h.received(page);
      assert.deepEqual(got.filter((x) => x.endsWith("horses:created")).length, 2);

      // Away while more changes than history holds (5 per channel): resync, then refetch.
      await setHidden(page, true);
      await page.waitForFunction(() => window.crierDemo.client.status === "closed");
      for (let i = 1; i <= 8; i++)
        await h.api(demo.base, "POST", "/api/horses", { name: `Foal ${i}` });
      await setHidden(page, false);
      await page.waitForFunction(() => window.crierDemo.resyncs.length === 1, null, {
        timeout: 5000,
      });
      assert.equal(await refetches(), first + 1);
      await h.waitNames(page, await serverNames(demo.base), 3000);
      assert.equal((await h.names(page)).length, 13);
      await page.context().close();
    } finally {
      await h.stopDemo(demo);
    }
  },
);

test(
  "without EventSource the page polls history and gets the same events",
  { skip: h.skip, timeout: 30000 },
  async () => {
    const demo = await h.startDemo();
    try {
      const streaming = await h.openApp(await browser.newContext(), demo.base);
      const context = await browser.newContext();
      await context.addInitScript(() => {
        delete window.EventSource;
      });
      const polling = await h.openApp(context, demo.base);
      assert.equal(await polling.evaluate(() => typeof window.EventSource), "undefined");
      assert.equal(await polling.evaluate(() => window.crierDemo.client.status), "polling");
      assert.equal(await polling.evaluate(() => window.crierDemo.client.transport), "polling");

      await h.api(demo.base, "POST", "/api/horses", { name: "Polled" });
      const made = await h.api(demo.base, "POST", "/api/horses", { name: "Renamed soon" });
      await h.api(demo.base, "PUT", `/api/horses/${made.id}`, { name: "Renamed" });
      await h.api(demo.base, "DELETE", "/api/horses/1");
      await h.api(demo.base, "POST", "/api/tasks", { title: "Shoe Marengo" });
      const expected = await serverNames(demo.base);
      await h.waitNames(streaming, expected, 2000);
      await h.waitNames(polling, expected, 3000);
      await polling.waitForFunction(() => window.crierDemo.received.length >= 10, null, {
        timeout: 3000,
      });
      const a = await h.received(streaming);
      const b = await h.received(polling);
      assert.equal(a.length, 10, `${a}`);
      assert.deepEqual(b, a);
      await h.screenshot(polling, "polling");
      await streaming.context().close();
      await context.close();
    } finally {
      await h.stopDemo(demo);
    }
  },
);

test(
  "a refused stream (403) stops the client for good and says why",
  { skip: h.skip, timeout: 20000 },
  async () => {
    const demo = await h.startDemo();
    try {
      const page = await (await browser.newContext()).newPage();
      await page.goto(`${demo.base}/`);
      let streamRequests = 0;
      page.on("request", (r) => {
        if (
          new URL(r.url()).pathname === "/api/realtime/events" &&
          r.url().includes("user%3Aother")
        )
          streamRequests++;
      });
      // `user:{someone else}` is never granted: 403.
      const detail = await page.evaluate(async () => {
        const { createRealtime } = await import("/js/crier.js");
        const client = createRealtime({ channels: ["user:other"], share: false });
        return new Promise((resolve) =>
          client.on("stopped", (d) => resolve({ ...d, status: client.status })),
        );
      });
      assert.deepEqual(detail, { reason: "forbidden", httpStatus: 403, status: "closed" });
      const asked = streamRequests;
      assert.ok(asked >= 1);
      await page.waitForTimeout(1500);
      assert.equal(streamRequests, asked, "no reconnect after 403");
      await page.context().close();
    } finally {
      await h.stopDemo(demo);
    }
  },
);
