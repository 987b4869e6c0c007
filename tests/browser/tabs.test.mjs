// SPDX-License-Identifier: MIT
// Three tabs of one browser share one stream: the server counts one, every tab sees every
// event once, and when the tab holding the stream closes another takes over from the last id.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as h from "./harness.mjs";

/** Waits until `check()` holds, polling; fails with `what` and the last value. */
async function until(check, what, timeout = 3000) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    last = await check();
    if (last === true) return;
    if (Date.now() > end) throw new Error(`${what}: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True when every page received each of `types` lines exactly `count` times in total. */
async function everyTabSawOnce(pages, count) {
  const seen = [];
  for (const p of pages) {
    const got = (await h.received(p)).filter((x) => x.endsWith(" horses:created"));
    if (new Set(got).size !== got.length) return `doubled in a tab: ${got}`;
    if (got.length !== count) return `a tab has ${got.length} of ${count}`;
    seen.push(JSON.stringify(got));
  }
  return new Set(seen).size === 1 ? true : `tabs differ: ${seen}`;
}

test(
  "three tabs share one stream and hand it over when its tab closes",
  { skip: h.skip, timeout: 40000 },
  async () => {
    const demo = await h.startDemo();
    const browser = await h.launch();
    try {
      const context = await browser.newContext();
      const tabs = [];
      for (let i = 0; i < 3; i++) tabs.push(await h.openApp(context, demo.base));
      const streams = async () => (await h.stats(demo.base)).connectedClients;
      await until(
        async () => (await streams()) === 1 || (await streams()),
        "streams on the server",
      );
      const leaders = async (pages) => {
        const flags = [];
        for (const p of pages) flags.push(await p.evaluate(() => window.crierDemo.client.isLeader));
        return flags;
      };
      assert.deepEqual((await leaders(tabs)).filter(Boolean).length, 1);

      for (let i = 1; i <= 3; i++)
        await h.api(demo.base, "POST", "/api/horses", { name: `Tab test ${i}` });
      await until(() => everyTabSawOnce(tabs, 3), "every tab sees every event once");
      const expected = (await h.api(demo.base, "GET", "/api/horses")).map((x) => x.name);
      for (const t of tabs) await h.waitNames(t, expected);
      assert.equal(await streams(), 1);
      await h.screenshot(tabs[0], "tabs-shared");

      // Close the tab that holds the stream while changes keep coming: the others take over
      // from the last id they saw, so nothing is lost or doubled. The new stream is held back
      // for a moment so that some changes surely happen while no tab holds one.
      await context.route(
        (url) => url.pathname === "/api/realtime/events",
        async (route) => {
          await new Promise((r) => setTimeout(r, 600));
          await route.continue();
        },
      );
      const leader = tabs[(await leaders(tabs)).indexOf(true)];
      const rest = tabs.filter((t) => t !== leader);
      await h.api(demo.base, "POST", "/api/horses", { name: "Tab test 4" });
      await until(() => everyTabSawOnce(tabs, 4), "every tab sees the fourth");
      await leader.close();
      await until(
        async () => (await streams()) === 0 || (await streams()),
        "no stream while handing over",
      );
      for (let i = 5; i <= 9; i++)
        await h.api(demo.base, "POST", "/api/horses", { name: `Tab test ${i}` });
      await until(
        () => everyTabSawOnce(rest, 9),
        "after handover every tab sees every event once",
        5000,
      );
      const after = (await h.api(demo.base, "GET", "/api/horses")).map((x) => x.name);
      for (const t of rest) await h.waitNames(t, after);
      assert.deepEqual((await leaders(rest)).filter(Boolean).length, 1);
      await until(
        async () => (await streams()) === 1 || (await streams()),
        "one stream after handover",
      );
      for (const t of rest)
        assert.equal(await t.evaluate(() => window.crierDemo.client.status), "open");

      // The leader tab is hidden (the app pauses then): the visible tab takes the stream over,
      // and the hidden one still hears every event through it.
      const [hidden, visible] = (await leaders(rest))[0] ? rest : [...rest].reverse();
      await hidden.evaluate(() => {
        Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
        document.dispatchEvent(new Event("visibilitychange"));
      });
      await until(
        async () =>
          (await leaders([hidden, visible])).join() === "false,true" ||
          (await leaders([hidden, visible])),
        "the visible tab leads",
      );
      await h.api(demo.base, "POST", "/api/horses", { name: "Tab test 10" });
      await until(() => everyTabSawOnce(rest, 10), "hidden and visible tabs see the tenth once");
      await until(async () => (await streams()) === 1 || (await streams()), "still one stream");
      await context.close();
    } finally {
      await browser.close();
      await h.stopDemo(demo);
    }
  },
);
