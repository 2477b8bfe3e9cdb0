import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { CORE_NAME, looksLikeCore, mayBeExecutableName } from "../../coreNames";
import { extensionRoot } from "../support";

test("core-like names", () => {
  for (const name of ["core", "core.1234", "core.server.0.5e1f.4242.1700000000000000.zst", "server.core", "server.core.zst"]) {
    assert.ok(looksLikeCore(name), name);
  }
  for (const name of ["corefile", "score", "core_test.go", "hardcore", "main.go"]) {
    assert.ok(!looksLikeCore(name), name);
  }
});

test("executable-like names", () => {
  assert.ok(mayBeExecutableName("server"));
  assert.ok(mayBeExecutableName("server.test"));
  assert.ok(!mayBeExecutableName("main.go"));
  assert.ok(!mayBeExecutableName("core"));
  assert.ok(!mayBeExecutableName("libfoo.so.1"));
  assert.ok(!mayBeExecutableName(".hidden"));
});

test("the Explorer menu's when clause uses the same pattern", () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(extensionRoot, "package.json"), "utf8")) as {
    contributes: { menus: Record<string, Array<{ command: string; when?: string }>> };
  };
  const entry = manifest.contributes.menus["explorer/context"].find((m) => m.command === "goCore.openCoreDump");
  assert.ok(entry?.when);
  const match = /resourceFilename =~ \/(.+)\/$/.exec(entry.when);
  assert.ok(match, entry.when);
  assert.equal(match[1], CORE_NAME.source);
});
