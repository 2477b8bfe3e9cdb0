import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { findAdapter, isExecutableFile } from "../../adapterDiscovery";

function fakeFs(executables: string[]): (file: string) => boolean {
  const set = new Set(executables);
  return (file) => set.has(file);
}

const base = { platform: "linux" as const, homeDir: "/home/u" };

test("the setting wins", () => {
  const r = findAdapter({
    ...base,
    setting: "/opt/gocore-dap",
    env: { GOCORE_DAP_PATH: "/env/gocore-dap", PATH: "/usr/bin" },
    workspaceFolders: ["/ws"],
    isExecutableFile: fakeFs(["/opt/gocore-dap", "/env/gocore-dap", "/ws/.venv/bin/gocore-dap", "/usr/bin/gocore-dap"]),
  });
  assert.deepEqual(r, { found: true, path: "/opt/gocore-dap", source: "setting" });
});

test("a wrong setting is an error, not a reason to look elsewhere", () => {
  const r = findAdapter({
    ...base,
    setting: "/nope/gocore-dap",
    env: { PATH: "/usr/bin" },
    workspaceFolders: [],
    isExecutableFile: fakeFs(["/usr/bin/gocore-dap"]),
  });
  assert.equal(r.found, false);
  assert.ok(!r.found && r.problem.includes("goCore.adapterPath") && r.fix.includes("pip install gocore-dap"));
});

test("~ in the setting is the home folder", () => {
  const r = findAdapter({ ...base, setting: "~/bin/gocore-dap", env: {}, workspaceFolders: [], isExecutableFile: fakeFs(["/home/u/bin/gocore-dap"]) });
  assert.ok(r.found && r.path === "/home/u/bin/gocore-dap");
});

test("then GOCORE_DAP_PATH, strictly", () => {
  const ok = findAdapter({ ...base, env: { GOCORE_DAP_PATH: "/env/gocore-dap" }, workspaceFolders: [], isExecutableFile: fakeFs(["/env/gocore-dap"]) });
  assert.ok(ok.found && ok.source === "environment");
  const bad = findAdapter({ ...base, env: { GOCORE_DAP_PATH: "/env/missing", PATH: "/usr/bin" }, workspaceFolders: [], isExecutableFile: fakeFs(["/usr/bin/gocore-dap"]) });
  assert.ok(!bad.found && bad.problem.includes("GOCORE_DAP_PATH"));
});

test("then the workspace .venv, in folder order, before PATH", () => {
  const r = findAdapter({
    ...base,
    env: { PATH: "/usr/local/bin:/usr/bin" },
    workspaceFolders: ["/ws1", "/ws2"],
    isExecutableFile: fakeFs(["/ws2/.venv/bin/gocore-dap", "/usr/bin/gocore-dap"]),
  });
  assert.deepEqual(r, { found: true, path: "/ws2/.venv/bin/gocore-dap", source: "workspace" });
});

test("then PATH, then ~/.local/bin", () => {
  const onPath = findAdapter({ ...base, env: { PATH: "/a:/b" }, workspaceFolders: ["/ws"], isExecutableFile: fakeFs(["/b/gocore-dap", "/home/u/.local/bin/gocore-dap"]) });
  assert.ok(onPath.found && onPath.path === "/b/gocore-dap" && onPath.source === "path");
  const userBin = findAdapter({ ...base, env: { PATH: "/a" }, workspaceFolders: [], isExecutableFile: fakeFs(["/home/u/.local/bin/gocore-dap"]) });
  assert.ok(userBin.found && userBin.source === "user-bin");
});

test("nothing found: the message says what to do and where it looked", () => {
  const r = findAdapter({ ...base, env: { PATH: "/a:/b" }, workspaceFolders: ["/ws"], isExecutableFile: fakeFs([]) });
  assert.equal(r.found, false);
  assert.ok(!r.found);
  assert.deepEqual(r.searched, ["/ws/.venv/bin/gocore-dap", "/a/gocore-dap", "/b/gocore-dap", "/home/u/.local/bin/gocore-dap"]);
  assert.match(r.fix, /pip install gocore-dap/);
  assert.match(r.fix, /goCore\.adapterPath/);
});

test("Windows looks for .venv/Scripts/gocore-dap.exe", () => {
  const r = findAdapter({ platform: "win32", homeDir: "C:/u", env: {}, workspaceFolders: ["C:/ws"], isExecutableFile: (f) => f.endsWith(path.join(".venv", "Scripts", "gocore-dap.exe")) });
  assert.ok(r.found && r.source === "workspace");
});

test("isExecutableFile checks the file, its type and the x bit", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gocore-disc-"));
  try {
    const exe = path.join(dir, "gocore-dap");
    fs.writeFileSync(exe, "#!/bin/sh\n");
    assert.equal(isExecutableFile(exe), false);
    fs.chmodSync(exe, 0o755);
    assert.equal(isExecutableFile(exe), true);
    assert.equal(isExecutableFile(dir), false);
    assert.equal(isExecutableFile(path.join(dir, "missing")), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("finds the real adapter of this checkout through the workspace .venv", (t) => {
  const repo = path.resolve(__dirname, "..", "..", "..", "..");
  const venvAdapter = path.join(repo, ".venv", "bin", "gocore-dap");
  if (!fs.existsSync(venvAdapter)) {
    t.skip("no .venv in this checkout (scripts/setup.sh makes it)");
    return;
  }
  const r = findAdapter({ env: { PATH: "" }, workspaceFolders: [repo] });
  assert.deepEqual(r, { found: true, path: venvAdapter, source: "workspace" });
});
