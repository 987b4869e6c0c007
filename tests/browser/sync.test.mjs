// SPDX-License-Identifier: MIT
// The stable app in two separate browsers (contexts): what one does, the other shows within a
// second; optimistic rows show before the server answers and roll back when it refuses.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as h from "./harness.mjs";

let demo;
let browser;
before(async () => {
  if (h.skip) return;
  demo = await h.startDemo();
  browser = await h.launch();
});
after(async () => {
  await browser?.close();
  if (demo) await h.stopDemo(demo);
});

test(
  "two browsers stay in sync: create, edit and delete show in the other within 1 s",
  { skip: h.skip, timeout: 30000 },
  async () => {
    const a = await h.openApp(await browser.newContext(), demo.base);
    const b = await h.openApp(await browser.newContext(), demo.base);
    const seed = ["Bucephalus", "Marengo", "Copenhagen"];
    await h.waitNames(a, seed);
    await h.waitNames(b, seed);

    await a.fill("input[name=name]", "Seabiscuit");
    await a.fill("input[name=breed]", "Thoroughbred");
    await a.fill("input[name=age]", "5");
    await a.click("#save");
    await h.waitNames(b, [...seed, "Seabiscuit"], 1000);
    await h.waitNames(a, [...seed, "Seabiscuit"], 1000);

    // Edit in A: the row is renamed in B (same position).
    await a.click("#horses tr:nth-child(4) button.edit");
    await a.fill("input[name=name]", "Seabiscuit II");
    await a.click("#save");
    await h.waitNames(b, [...seed, "Seabiscuit II"], 1000);

    // Delete in B: gone from A.
    await b.click("#horses tr:nth-child(2) button.delete");
    const final = ["Bucephalus", "Copenhagen", "Seabiscuit II"];
    await h.waitNames(a, final, 1000);
    await h.waitNames(b, final, 1000);

    const server = (await h.api(demo.base, "GET", "/api/horses")).map((x) => x.name);
    assert.deepEqual(server, final);

    // Tasks: one added in B and one completed in A show in the other.
    await b.fill("input[name=title]", "Call the vet");
    await b.press("input[name=title]", "Enter");
    await a.waitForFunction(
      () =>
        [...document.querySelectorAll("#tasks li")].some((li) =>
          li.textContent.startsWith("Call the vet"),
        ),
      null,
      { timeout: 1000 },
    );
    await a.click("#tasks li:first-child button.complete");
    await b.waitForSelector("#tasks li:first-child.done", { timeout: 1000 });
    const tasks = await h.api(demo.base, "GET", "/api/tasks");
    assert.deepEqual(
      tasks.map((t) => [t.title, t.done]),
      [
        ["Farrier visit", true],
        ["Deworming", false],
        ["Order hay", false],
        ["Call the vet", false],
      ],
    );
    for (const p of [a, b]) assert.equal(await p.$$eval("#tasks li", (lis) => lis.length), 4);
    // The activity feeds agree too, and no event reached a handler twice.
    const feed = (p) =>
      p.$$eval("#activity li", (lis) => lis.map((li) => li.textContent.replace(/^.*?(AM|PM)/, "")));
    assert.deepEqual(await feed(a), await feed(b));
    assert.ok((await feed(a)).some((t) => t.includes("removed horse Marengo")));
    for (const p of [a, b]) {
      const got = await h.received(p);
      assert.equal(new Set(got).size, got.length, `doubled: ${got}`);
      assert.equal(got.filter((x) => x.endsWith(" horses:created")).length, 1);
      assert.equal(await p.$$eval("#horses tr.pending", (rows) => rows.length), 0);
    }
    await h.screenshot(a, "sync-two-browsers");
    await a.context().close();
    await b.context().close();
  },
);

test(
  "optimistic create shows at once; a refused create rolls back and says why",
  { skip: h.skip, timeout: 30000 },
  async () => {
    const page = await h.openApp(await browser.newContext(), demo.base);
    const before = await h.names(page);
    const creates = await h.holdRequests(page, "POST", "/api/horses");

    await page.fill("input[name=name]", "Phar Lap");
    await page.click("#save");
    await page.waitForSelector("#horses tr.pending", { timeout: 5000 });
    // The request is still held: the row showed before the server could answer.
    assert.equal(creates.held, 1);
    assert.deepEqual(await h.names(page), [...before, "Phar Lap"]);
    assert.ok(!(await h.api(demo.base, "GET", "/api/horses")).some((x) => x.name === "Phar Lap"));
    // Confirmed: one row, no longer pending, under the server's id.
    creates.release();
    await page.waitForSelector("#horses tr.pending", { state: "detached", timeout: 5000 });
    await h.waitNames(page, [...before, "Phar Lap"]);
    const saved = (await h.api(demo.base, "GET", "/api/horses")).find((x) => x.name === "Phar Lap");
    assert.equal(
      await page.$eval("#horses tr:last-child", (tr) => tr.dataset.id),
      String(saved.id),
    );

    // An empty name: shown at once, refused by the server (400), rolled back, error shown.
    await page.fill("input[name=name]", "   ");
    await page.click("#save");
    await page.waitForSelector("#horses tr.pending", { timeout: 5000 });
    assert.equal(creates.held, 1);
    assert.equal((await h.names(page)).length, before.length + 2);
    creates.release();
    await page.waitForSelector("#error.shown", { timeout: 5000 });
    assert.equal(await page.textContent("#error"), "A horse needs a name.");
    await h.waitNames(page, [...before, "Phar Lap"]);
    await h.screenshot(page, "optimistic-rollback");
    await page.context().close();
  },
);
