// SPDX-License-Identifier: MIT
// crier.js's pure parts under Node's test runner: SSE parsing, backoff, dedup, batches,
// dispatch, URLs, the lease and the optimistic store.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Dispatcher,
  EventIdSet,
  OptimisticStore,
  backoffDelay,
  buildUrl,
  createParser,
  mayLead,
  parseData,
  unpackBatch,
} from "../crier.js";

function parseAll(chunks) {
  const events = [];
  const retries = [];
  const p = createParser(
    (e) => events.push(e),
    (ms) => retries.push(ms),
  );
  for (const c of chunks) p.feed(c);
  return { events, retries, p };
}

const stream =
  '\uFEFFretry: 3000\n: heartbeat\n\nid: a-1\nevent: horses:created\ndata: {"id":1}\n\n' +
  "data: line one\r\ndata: line two\r\rid: a-2\nevent: batch\ndata:[]\n\ndata\n\nevent: x\n\n" +
  "id: bad\0id\ndata: keeps a-2\n\nretry: soon\n";

test("parser: fields, types, ids, multi-line data, CR/LF/CRLF, BOM, comments, retry", () => {
  const { events, retries, p } = parseAll([stream]);
  assert.deepEqual(retries, [3000]);
  assert.deepEqual(events, [
    { id: "a-1", type: "horses:created", data: '{"id":1}' },
    { id: "a-1", type: "message", data: "line one\nline two" },
    { id: "a-2", type: "batch", data: "[]" },
    { id: "a-2", type: "message", data: "" },
    { id: "a-2", type: "message", data: "keeps a-2" },
  ]);
  assert.equal(p.lastEventId, "a-2");
});

test("parser: any chunking gives the same events", () => {
  const whole = parseAll([stream]).events;
  for (let size = 1; size <= 7; size++) {
    const chunks = [];
    for (let i = 0; i < stream.length; i += size) chunks.push(stream.slice(i, i + size));
    assert.deepEqual(parseAll(chunks).events, whole, `chunks of ${size}`);
  }
  // A CR at the end of one chunk and the LF at the start of the next are one line ending.
  assert.deepEqual(parseAll(["data: a\r", "\ndata: b\r", "\n\r", "\n"]).events, [
    { id: null, type: "message", data: "a\nb" },
  ]);
});

test("parser: an unfinished event is not dispatched", () => {
  assert.deepEqual(parseAll(["data: half"]).events, []);
  assert.deepEqual(parseAll(["data: half\n"]).events, []);
});

test("backoff: full jitter under an exponential ceiling with a cap", () => {
  const at = (attempt, r) => backoffDelay(attempt, { base: 1000, cap: 8000, random: () => r });
  assert.equal(at(0, 0), 0);
  assert.equal(at(0, 0.999), 999);
  assert.equal(at(1, 0.5), 1000);
  assert.equal(at(2, 0.5), 2000);
  assert.equal(at(3, 0.999), 7992);
  assert.equal(at(10, 0.999), 7992, "capped");
  assert.equal(at(5000, 0.5), 4000, "huge attempt counts stay finite");
  for (let i = 0; i < 200; i++) {
    const d = backoffDelay(4);
    assert.ok(d >= 0 && d < 16000);
  }
});

test("dedup: a repeat is refused, memory stays bounded, oldest forgotten first", () => {
  const ids = new EventIdSet(3);
  assert.equal(ids.add("e-1"), true);
  assert.equal(ids.add("e-1"), false);
  ids.add("e-2");
  ids.add("e-3");
  ids.add("e-4");
  assert.equal(ids.size, 3);
  assert.equal(ids.has("e-1"), false);
  assert.equal(ids.has("e-4"), true);
  for (let i = 0; i < 10000; i++) ids.add(`x-${i}`);
  assert.equal(ids.size, 3);
});

test("batch: items unpacked with their ids; other events pass through; bad batches throw", () => {
  const batch = {
    id: "e-9",
    type: "batch",
    data: JSON.stringify([
      { id: "e-8", type: "horses:updated", data: '{"id":1}' },
      { id: "e-9", type: "horses:deleted", data: '{"id":2}' },
    ]),
  };
  assert.deepEqual(unpackBatch(batch), [
    { id: "e-8", type: "horses:updated", data: '{"id":1}' },
    { id: "e-9", type: "horses:deleted", data: '{"id":2}' },
  ]);
  const plain = { id: "e-1", type: "horses:created", data: "{}" };
  assert.deepEqual(unpackBatch(plain), [plain]);
  assert.throws(() => unpackBatch({ type: "batch", data: "{}" }), SyntaxError);
  assert.throws(() => unpackBatch({ type: "batch", data: "not json" }), SyntaxError);
});

test("dispatch: exact type, module with its action, module:*, *; unsubscribe; isolation", () => {
  const calls = [];
  const errors = [];
  const d = new Dispatcher((e) => errors.push(e.message));
  d.on("horses:created", (data) => calls.push(["exact", data.id]));
  const offModule = d.onModule("horses", (action, data) => calls.push(["module", action, data.id]));
  d.on("finance:*", (data, e) => calls.push(["prefix", e.type]));
  d.on("*", () => {
    throw new Error("boom");
  });
  d.on("*", (data, e) => calls.push(["all", e.type]));
  assert.equal(d.dispatch({ id: "1", type: "horses:created", data: '{"id":7}' }), 4);
  d.dispatch({ id: "2", type: "finance:invoice:paid", data: "plain text" });
  d.dispatch({ id: "3", type: "horsesx:created", data: "{}" });
  offModule();
  d.dispatch({ id: "4", type: "horses:deleted", data: '{"id":7}' });
  assert.deepEqual(calls, [
    ["exact", 7],
    ["module", "created", 7],
    ["all", "horses:created"],
    ["prefix", "finance:invoice:paid"],
    ["all", "finance:invoice:paid"],
    ["all", "horsesx:created"],
    ["all", "horses:deleted"],
  ]);
  assert.equal(errors.length, 4, "the throwing handler was reported each time, others ran");
  assert.deepEqual([...d.exactTypes()], ["horses:created"]);
  assert.deepEqual([...d.modules()], ["finance"]);
  assert.equal(parseData("not json"), "not json");
});

test("urls: repeated parameters, encoding, nothing for null", () => {
  assert.equal(
    buildUrl("/api/realtime/events", { channel: ["horses", "a b"], user: "x&y", since: null }),
    "/api/realtime/events?channel=horses&channel=a+b&user=x%26y",
  );
  assert.equal(buildUrl("/x?a=1", { b: 2 }), "/x?a=1&b=2");
  assert.equal(buildUrl("/x", {}), "/x");
});

test("lease: free, expired or own lease may be taken; another tab's live one not", () => {
  assert.equal(mayLead(null, "me", 100), true);
  assert.equal(mayLead({ tab: "me", expires: 50 }, "me", 100), true);
  assert.equal(mayLead({ tab: "other", expires: 50 }, "me", 100), true);
  assert.equal(mayLead({ tab: "other", expires: 150 }, "me", 100), false);
});

test("store: optimistic add confirmed by the response, then the event: one row, in place", () => {
  const s = new OptimisticStore([
    { id: 1, name: "A" },
    { id: 2, name: "B" },
  ]);
  const changes = [];
  s.subscribe((items) => changes.push(items.map((x) => x.name)));
  const op = s.optimisticAdd({ name: "C" });
  assert.ok(s.isTemporary(op.id));
  assert.deepEqual(s.items[2], { name: "C", id: op.id, clientId: op.id, pending: true });
  op.confirm({ id: 3, name: "C", clientId: op.id });
  assert.deepEqual(s.items, [
    { id: 1, name: "A" },
    { id: 2, name: "B" },
    { id: 3, name: "C" },
  ]);
  s.apply("created", { id: 3, name: "C", clientId: op.id });
  assert.deepEqual(
    s.items.map((x) => x.id),
    [1, 2, 3],
  );
  assert.deepEqual(changes, [
    ["A", "B", "C"],
    ["A", "B", "C"],
    ["A", "B", "C"],
  ]);
});

test("store: the event before the response replaces the temporary row; no duplicate", () => {
  const s = new OptimisticStore([{ id: 1, name: "A" }]);
  const op = s.optimisticAdd({ name: "B" });
  s.optimisticAdd({ name: "still pending" });
  s.apply("created", { id: 5, name: "B", clientId: op.id });
  assert.deepEqual(s.items.map((x) => x.id).slice(0, 2), [1, 5]);
  op.confirm({ id: 5, name: "B", clientId: op.id });
  assert.deepEqual(s.items.filter((x) => x.id === 5).length, 1);
  assert.equal(s.items.length, 3);
  // Someone else's create appends once, however often it arrives.
  s.apply("created", { id: 6, name: "X" });
  s.apply("created", { id: 6, name: "X" });
  assert.deepEqual(
    s.items.map((x) => x.id).filter((id) => id === 6),
    [6],
  );
});

test("store: rollback of add, update and remove; an update replaced by an event stays", async () => {
  const s = new OptimisticStore([
    { id: 1, name: "A" },
    { id: 2, name: "B" },
    { id: 3, name: "C" },
  ]);
  await assert.rejects(
    s.create({ name: "" }, async () => {
      throw new Error("A horse needs a name.");
    }),
    /needs a name/,
  );
  assert.deepEqual(
    s.items.map((x) => x.name),
    ["A", "B", "C"],
  );
  await assert.rejects(
    s.update(2, { name: "BB" }, async () => {
      assert.equal(s.items[1].name, "BB");
      throw new Error("no");
    }),
  );
  assert.deepEqual(s.items[1], { id: 2, name: "B" });
  await assert.rejects(
    s.remove(2, async () => {
      assert.deepEqual(
        s.items.map((x) => x.id),
        [1, 3],
      );
      throw new Error("no");
    }),
  );
  assert.deepEqual(
    s.items.map((x) => x.id),
    [1, 2, 3],
    "back in its place",
  );
  const op = s.optimisticUpdate(3, { name: "mine" });
  s.apply("updated", { id: 3, name: "theirs" });
  op.rollback();
  assert.equal(s.items[2].name, "theirs");
  s.apply("deleted", { id: 1 });
  s.apply("deleted", { id: 1 });
  assert.deepEqual(
    s.items.map((x) => x.id),
    [2, 3],
  );
});

test("store: refetch keeps events that arrive while it loads, and pending rows", async () => {
  const s = new OptimisticStore([{ id: 1, name: "old" }]);
  const pending = s.optimisticAdd({ name: "in flight" });
  let answer;
  const done = s.refetch(() => new Promise((resolve) => (answer = resolve)));
  s.apply("created", { id: 9, name: "live" });
  s.apply("deleted", { id: 2 });
  answer([
    { id: 1, name: "new" },
    { id: 2, name: "gone by now" },
  ]);
  await done;
  assert.deepEqual(
    s.items.map((x) => x.name),
    ["new", "in flight", "live"],
  );
  assert.equal(s.items[1].id, pending.id);
});
