// SPDX-License-Identifier: MIT
// Not a test: what N tabs of the demo app cost the server with and without connection sharing
// (streams, server connections, resident memory, frames written per event), and how many tabs
// of one browser can load at all.
//   CRIER_DEMO=build/dev/examples/crier-demo node tests/browser/measure_tabs.mjs [N]
import { readFileSync } from "node:fs";
import * as h from "./harness.mjs";

const n = Number(process.argv[2] ?? 5);
const rss = (pid) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
const settle = () => new Promise((r) => setTimeout(r, 2500));

async function measure(share) {
  const demo = await h.startDemo();
  const browser = await h.launch();
  try {
    const context = await browser.newContext();
    await settle();
    const base = { rss: rss(demo.child.pid), stats: await h.stats(demo.base) };
    const tabs = [];
    for (let i = 0; i < n; i++) {
      // Without sharing, each tab is its own user: the demo allows 3 streams per user.
      const query = share ? "" : `?share=0&user=tab${i}`;
      tabs.push(await h.openApp(context, demo.base, query));
    }
    await settle();
    const open = { rss: rss(demo.child.pid), stats: await h.stats(demo.base) };
    const events = 20;
    for (let i = 0; i < events; i++)
      await h.api(demo.base, "POST", "/api/horses", { name: `Horse ${i}` });
    await settle();
    const after = await h.stats(demo.base);
    const frames = after.server.framesWritten - open.stats.server.framesWritten;
    return {
      share,
      tabs: n,
      streams: open.stats.connectedClients,
      connections: open.stats.server.connections,
      rssKiB: open.rss - base.rss,
      framesPerEvent: frames / (events * 2), // each change is a module event and an activity entry
    };
  } finally {
    await browser.close();
    await h.stopDemo(demo);
  }
}

// The server's own cost of one stream, without a browser in the way: `streams` plain SSE
// readers (distinct users), resident memory before and after.
async function perStream(streams = 200) {
  const demo = await h.startDemo();
  const readers = [];
  try {
    await settle();
    const before = rss(demo.child.pid);
    for (let i = 0; i < streams; i++) {
      const abort = new AbortController();
      const r = await fetch(`${demo.base}/api/realtime/events?channel=horses&user=r${i}`, {
        signal: abort.signal,
      });
      r.body.getReader().read();
      readers.push(abort);
    }
    await settle();
    const stats = await h.stats(demo.base);
    return {
      streams: stats.connectedClients,
      rssKiBPerStream: (rss(demo.child.pid) - before) / streams,
    };
  } finally {
    for (const a of readers) a.abort();
    await h.stopDemo(demo);
  }
}

// How many tabs of one browser load at all: without sharing, every tab's stream holds one of
// the six HTTP/1.1 connections the browser allows per origin.
async function tabsThatLoad(share, tabs = 8) {
  const demo = await h.startDemo();
  const browser = await h.launch();
  let loaded = 0;
  try {
    const context = await browser.newContext();
    for (let i = 0; i < tabs; i++) {
      try {
        await h.openApp(context, demo.base, share ? "" : `?share=0&user=tab${i}`);
        loaded++;
      } catch {
        break; // it waits for a connection that no other tab gives back
      }
    }
    return { share, tabs, loaded };
  } finally {
    await browser.close();
    await h.stopDemo(demo);
  }
}

for (const share of [true, false]) console.log(JSON.stringify(await measure(share)));
console.log(JSON.stringify(await perStream()));
for (const share of [true, false]) console.log(JSON.stringify(await tabsThatLoad(share)));
