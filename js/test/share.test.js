// SPDX-License-Identifier: MIT
// Two clients in one process share one stream through BroadcastChannel, elected by the
// localStorage-lease fallback (Node has no Web Locks; the storage is a Map behind the Storage
// methods). The leader relays; when it stops, the other takes over from the last id.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { RealtimeClient } from "../crier.js";

function until(check, timeout = 8000) {
  return new Promise((resolve, reject) => {
    const end = Date.now() + timeout;
    const poll = () => {
      if (check()) return resolve();
      if (Date.now() > end) return reject(new Error("timed out"));
      setTimeout(poll, 10);
    };
    poll();
  });
}

test(
  "lease fallback: one stream for two clients, relay, and hand-over from the last id",
  { timeout: 20000 },
  async () => {
    const streams = [];
    const server = createServer((req, res) => {
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      const last = req.headers["last-event-id"] ?? null;
      streams.push({ res, last });
      res.write(`id: ${last ?? "e-0"}\nevent: connected\ndata: {}\n\n`);
      // A resumed stream replays what came after its id.
      if (last) for (const e of published.filter((e) => e.n > Number(last.slice(2)))) write(res, e);
    });
    const published = [];
    const write = (res, e) =>
      res.write(`id: e-${e.n}\nevent: horses:created\ndata: {"id":${e.n}}\n\n`);
    const publish = (n) => {
      const e = { n };
      published.push(e);
      for (const s of streams) if (!s.res.writableEnded) write(s.res, e);
    };
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    const items = new Map();
    const storage = {
      getItem: (k) => (items.has(k) ? items.get(k) : null),
      setItem: (k, v) => items.set(k, String(v)),
      removeItem: (k) => items.delete(k),
    };
    const make = () => {
      const client = new RealtimeClient({
        url: `http://127.0.0.1:${server.address().port}/api/realtime`,
        channels: ["horses"],
        transport: "fetch",
        locks: null,
        storage,
      });
      const got = [];
      client.subscribeModule("horses", (action, data) => got.push(data.id));
      return { client, got };
    };
    const a = make();
    const b = make();
    try {
      a.client.start();
      await until(() => a.client.isLeader && a.client.status === "open");
      b.client.start();
      await new Promise((r) => setTimeout(r, 1200)); // b's lease checks see a's live lease
      assert.equal(b.client.isLeader, false);
      assert.equal(streams.length, 1);
      publish(1);
      publish(2);
      await until(() => a.got.length === 2 && b.got.length === 2);
      assert.equal(b.client.status, "open", "the follower mirrors the leader's status");

      // The leader goes; events keep coming; b takes the lease and resumes from e-2.
      a.client.stop();
      publish(3);
      publish(4);
      await until(() => b.client.isLeader && b.got.length === 4);
      assert.deepEqual(b.got, [1, 2, 3, 4]);
      assert.equal(streams.length, 2);
      assert.equal(streams[1].last, "e-2");
    } finally {
      a.client.stop();
      b.client.stop();
      for (const s of streams) s.res.end();
      await new Promise((r) => server.close(r));
    }
  },
);
