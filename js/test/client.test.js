// SPDX-License-Identifier: MIT
// crier.js's client in Node (fetch, streams) against a small real SSE server on 127.0.0.1:
// the fetch reader's Authorization header, `retry:`, Last-Event-ID on reconnect, batches and
// dedup, the stop on 204/401, and the polling transport's resync.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { RealtimeClient } from "../crier.js";

/** Serves `answer(req, n)` for the n-th request (from 0); resolves with the base URL. */
async function serve(answer) {
  const requests = [];
  const server = createServer((req, res) => {
    requests.push({ url: req.url, headers: req.headers, at: Date.now() });
    answer(req, res, requests.length - 1);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${server.address().port}`;
  return { base, requests, close: () => new Promise((r) => server.close(r)) };
}

function sse(res, text) {
  res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
  res.end(text);
}

function until(check, timeout = 5000) {
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

test("fetch reader: header auth, retry, Last-Event-ID, batch, dedup, then 204 stops it", async () => {
  const batch = JSON.stringify([
    { id: "e-2", type: "horses:updated", data: '{"id":1}' },
    { id: "e-3", type: "horses:deleted", data: '{"id":1}' },
  ]);
  const srv = await serve((req, res, n) => {
    if (req.headers.authorization !== "Bearer t") return res.writeHead(401).end();
    if (n === 0) {
      return sse(
        res,
        'retry: 300\nevent: connected\ndata: {"id":"e-0"}\n\n' +
          'id: e-1\nevent: horses:created\ndata: {"id":1}\n\n' +
          `id: e-3\nevent: batch\ndata: ${batch}\n\n`,
      );
    }
    if (n === 1)
      return sse(
        res,
        'id: e-3\nevent: horses:deleted\ndata: {"id":1}\n\nid: e-4\nevent: tasks:completed\ndata: {"id":2}\n\n',
      );
    res.writeHead(204).end();
  });
  const client = new RealtimeClient({
    url: `${srv.base}/api/realtime`,
    channels: ["horses", "tasks"],
    headers: { Authorization: "Bearer t" },
    share: false,
  });
  const got = [];
  const statuses = [];
  let stopped = null;
  client.subscribeModule("horses", (action, data, e) =>
    got.push(`${e.id} horses ${action} ${data.id}`),
  );
  client.subscribe("tasks:completed", (data, e) => got.push(`${e.id} ${e.type}`));
  client.on("status", (s) => statuses.push(s));
  client.on("stopped", (d) => (stopped = d));
  client.start();
  try {
    await until(() => stopped !== null);
    assert.equal(client.transport, "fetch");
    assert.deepEqual(got, [
      "e-1 horses created 1",
      "e-2 horses updated 1",
      "e-3 horses deleted 1",
      "e-4 tasks:completed",
    ]);
    assert.deepEqual(stopped, { reason: "closed_by_server", httpStatus: 204 });
    assert.equal(client.status, "closed");
    assert.equal(srv.requests.length, 3);
    assert.equal(srv.requests[0].headers["last-event-id"], undefined);
    assert.equal(srv.requests[1].headers["last-event-id"], "e-3");
    assert.equal(srv.requests[2].headers["last-event-id"], "e-4");
    assert.ok(srv.requests[1].at - srv.requests[0].at >= 290, "waited the server's retry");
    assert.match(srv.requests[0].url, /^\/api\/realtime\/events\?channel=horses&channel=tasks$/);
    assert.deepEqual(statuses.slice(0, 3), ["connecting", "open", "reconnecting"]);
  } finally {
    client.stop();
    await srv.close();
  }
});

test("401 and 403 stop the client and say why", async () => {
  for (const status of [401, 403]) {
    const srv = await serve((req, res) => res.writeHead(status).end());
    const client = new RealtimeClient({
      url: srv.base,
      headers: { Authorization: "x" },
      share: false,
    });
    let stopped = null;
    client.on("stopped", (d) => (stopped = d));
    client.start();
    await until(() => stopped !== null);
    assert.deepEqual(stopped, {
      reason: status === 401 ? "unauthorized" : "forbidden",
      httpStatus: status,
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(srv.requests.length, 1, "no retry after a refusal");
    client.stop();
    await srv.close();
  }
});

test("a failing stream backs off, then falls back to polling", async () => {
  const srv = await serve((req, res) => {
    if (req.url.includes("/events")) return res.writeHead(500).end();
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ events: [], complete: true, more: false, id: "e-5" }));
  });
  const client = new RealtimeClient({
    url: srv.base,
    headers: { Authorization: "x" },
    share: false,
    maxStreamFailures: 3,
    backoff: { base: 20, cap: 40 },
  });
  client.start();
  try {
    await until(() => client.status === "polling");
    assert.equal(srv.requests.filter((r) => r.url.includes("/events")).length, 3);
    assert.equal(client.transport, "polling");
    assert.equal(client.lastEventId, "e-5");
  } finally {
    client.stop();
    await srv.close();
  }
});

test("polling: events in order once, pages followed, incomplete history means resync", async () => {
  const pages = [
    { events: [], complete: true, more: false, id: "e-1" },
    {
      events: [{ id: "e-2", type: "horses:created", data: '{"id":2}' }],
      complete: true,
      more: true,
      id: "e-9",
    },
    {
      events: [
        { id: "e-2", type: "horses:created", data: '{"id":2}' },
        { id: "e-3", type: "horses:deleted", data: '{"id":2}' },
      ],
      complete: true,
      more: false,
      id: "e-3",
    },
    { events: [], complete: false, more: false, id: "f-1" },
  ];
  const srv = await serve((req, res, n) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify(pages[Math.min(n, pages.length - 1)]));
  });
  const client = new RealtimeClient({
    url: srv.base,
    transport: "polling",
    share: false,
    pollInterval: 30,
    channels: ["horses"],
  });
  const got = [];
  const resyncs = [];
  client.subscribe("*", (data, e) => got.push(e.id));
  client.on("resync", (reason, id) => resyncs.push([reason, id]));
  client.start();
  try {
    await until(() => resyncs.length > 0);
    assert.deepEqual(got, ["e-2", "e-3"]);
    assert.deepEqual(resyncs[0], ["history_incomplete", "f-1"]);
    const sinces = srv.requests
      .slice(0, 4)
      .map((r) => new URL(r.url, srv.base).searchParams.get("since"));
    assert.deepEqual(sinces, [null, "e-1", "e-2", "e-3"]);
    assert.deepEqual(new URL(srv.requests[0].url, srv.base).searchParams.getAll("channel"), [
      "global",
      "horses",
    ]);
  } finally {
    client.stop();
    await srv.close();
  }
});

test("after an outage, polling hands back to the stream as soon as the server answers", async () => {
  // The port is taken, then freed: the client meets a server that is gone.
  const probe = createServer();
  await new Promise((r) => probe.listen(0, "127.0.0.1", r));
  const port = probe.address().port;
  await new Promise((r) => probe.close(r));
  const client = new RealtimeClient({
    url: `http://127.0.0.1:${port}/api/realtime`,
    headers: { Authorization: "x" },
    share: false,
    backoff: { base: 20, cap: 60 },
    streamRetryInterval: 60000,
  });
  client.start();
  const requests = [];
  let server;
  try {
    // Stream failures, then failing polls.
    await until(() => client.transport === "polling" && client.status === "reconnecting");
    server = createServer((req, res) => {
      requests.push(req.url);
      if (req.url.includes("/history")) {
        res.writeHead(200, { "Content-Type": "application/json" });
        return res.end(JSON.stringify({ events: [], complete: true, more: false, id: "e-1" }));
      }
      sse(res, "id: e-1\nevent: connected\ndata: {}\n\n");
    });
    await new Promise((r) => server.listen(port, "127.0.0.1", r));
    await until(() => client.transport === "fetch" && requests.some((u) => u.includes("/events")));
    assert.ok(requests[0].includes("/history"), "a poll found the server back");
  } finally {
    client.stop();
    await new Promise((r) => (server ? server.close(r) : r()));
  }
});
