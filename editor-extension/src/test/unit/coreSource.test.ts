import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { asLensArguments, CoreSourceState, initializationOptions, openCoreArguments, sameCore, SHOW_GOROUTINES_COMMAND } from "../../coreSource";

test("a session's configuration becomes gocore.openCore's launch attributes (the debugger's keys only)", () => {
  const args = openCoreArguments(
    {
      type: "go-core",
      request: "launch",
      name: "Open core",
      program: "/w/bin/server",
      coreFilePath: "/w/core",
      substitutePath: [{ from: "/w", to: "/build" }],
      stackTraceDepth: 50,
      hideSystemGoroutines: true,
      __sessionId: "x",
    },
    "/w",
  );
  assert.deepEqual(args, {
    name: "Open core",
    program: "/w/bin/server",
    coreFilePath: "/w/core",
    substitutePath: [{ from: "/w", to: "/build" }],
    cwd: "/w",
  });
  assert.equal(openCoreArguments({ program: "/p", coreFilePath: "/c", cwd: "/mine" }, "/w")?.cwd, "/mine");
});

test("no core without both files", () => {
  assert.equal(openCoreArguments({ program: "/p" }), undefined);
  assert.equal(openCoreArguments({ program: " ", coreFilePath: "/c" }), undefined);
});

test("the server opens no core by itself, and its lenses run the extension's command", () => {
  assert.deepEqual(initializationOptions(), { autoOpen: false, goroutinesCommand: SHOW_GOROUTINES_COMMAND });
});

test("a lens names its core; the session of the same files is the one to filter", () => {
  const lens = asLensArguments({ core: "c", coreFile: "/w/./core", program: "/w/bin/server", function: "main.worker", uri: "file:///w/main.go", lines: [3], goroutines: 2 });
  assert.ok(lens);
  assert.ok(sameCore({ program: "/w/bin/server", coreFilePath: "/w/core" }, lens, (p) => path.resolve(p)));
  assert.ok(!sameCore({ program: "/w/bin/other", coreFilePath: "/w/core" }, lens, (p) => path.resolve(p)));
  assert.equal(asLensArguments({ core: "c" }), undefined);
  assert.equal(asLensArguments("x"), undefined);
});

test("a session's core goes with the session unless pinned or shown by another session", () => {
  const state = new CoreSourceState();
  state.shown("s1", "core-a");
  state.shown("s2", "core-a");
  assert.equal(state.sessionEnded("s1"), undefined, "s2 still shows it");
  assert.equal(state.sessionEnded("s2"), "core-a");
  state.closed("core-a");
  assert.ok(state.empty(0));

  state.shown("s3", "core-b");
  state.pin("core-b");
  assert.equal(state.sessionEnded("s3"), undefined, "pinned");
  assert.ok(!state.empty(1), "a pinned core keeps the server");
  state.clear();
  assert.ok(state.empty(0));
  assert.equal(state.sessionEnded("unknown"), undefined);
});
