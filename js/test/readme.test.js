// SPDX-License-Identifier: MIT
// Every ```js snippet in js/README.md parses as an ES module (node --check), so the README
// cannot drift into code that would not even load.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const snippets = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);

test("js/README.md's snippets are valid modules", () => {
  assert.ok(snippets.length >= 3, `found ${snippets.length} snippets`);
  const dir = mkdtempSync(join(tmpdir(), "crier-readme-"));
  try {
    snippets.forEach((code, i) => {
      const file = join(dir, `snippet${i}.mjs`);
      writeFileSync(file, code);
      execFileSync(process.execPath, ["--check", file], { stdio: "pipe" });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
