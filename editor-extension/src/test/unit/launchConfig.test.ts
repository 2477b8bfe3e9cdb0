import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { absolutize, checkFiles, checkShape, gatherFacts, missingFields, nameMismatch, toEditorPath, withDefaults } from "../../launchConfig";
import { corpus, unavailable } from "../support";

test("F5 without launch.json: an empty configuration becomes a go-core launch that asks for both files", () => {
  const c = withDefaults({});
  assert.equal(c.type, "go-core");
  assert.equal(c.request, "launch");
  assert.ok(c.name);
  assert.deepEqual(missingFields(c), ["coreFilePath", "program"]);
});

test("the core is asked first (it names its executable); blank strings count as missing", () => {
  assert.deepEqual(missingFields({ program: "/p", coreFilePath: "  " }), ["coreFilePath"]);
  assert.deepEqual(missingFields({ coreFilePath: "/c" }), ["program"]);
  assert.deepEqual(missingFields({ program: "/p", coreFilePath: "/c" }), []);
});

test("an existing name and type are kept", () => {
  const c = withDefaults({ name: "mine", type: "go-core", request: "launch", program: "/p" });
  assert.equal(c.name, "mine");
  assert.equal(c.program, "/p");
});

test("shape checks: numbers > 0 and substitutePath rules with from and to", () => {
  assert.deepEqual(checkShape({ stackTraceDepth: 50, maxThreads: 10, dlvTimeout: 1.5, substitutePath: [{ from: "/a", to: "/b" }] }), []);
  const problems = checkShape({ stackTraceDepth: 0, dlvTimeout: "9" as unknown as number, substitutePath: [{ from: "/a" } as unknown as { from: string; to: string }] });
  assert.deepEqual(
    problems.map((p) => p.field),
    ["stackTraceDepth", "dlvTimeout", "substitutePath"],
  );
  assert.match(problems[2].message, /substitutePath\[0\]/);
  assert.equal(checkShape({ substitutePath: "x" as unknown as [] })[0].field, "substitutePath");
});

test("shape checks: yourCode is one of the adapter's scopes", () => {
  for (const yourCode of ["modules", "mainModule", "nonRuntime"] as const) {
    assert.deepEqual(checkShape({ yourCode }), []);
  }
  const [problem] = checkShape({ yourCode: "main" as unknown as "modules" });
  assert.equal(problem.field, "yourCode");
  assert.match(problem.message, /"modules", "mainModule", "nonRuntime", not "main"/);
});

test("relative paths are relative to the workspace folder; ~ is home", () => {
  const c = absolutize({ program: "bin/server", coreFilePath: "/abs/core", dlvPath: "~/dlv" }, "/ws");
  assert.equal(c.program, "/ws/bin/server");
  assert.equal(c.coreFilePath, "/abs/core");
  assert.equal(c.dlvPath, path.join(process.env.HOME ?? "", "dlv"));
});

test("substitutePath maps the binary's paths (to) back to the editor's (from)", () => {
  const rules = [
    { from: "/home/me/src/app", to: "/build/app/" },
    { from: "/home/me/go", to: "/root/go" },
  ];
  assert.equal(toEditorPath("/build/app/main.go", rules), "/home/me/src/app/main.go");
  assert.equal(toEditorPath("/root/go/pkg/mod/x.go", rules), "/home/me/go/pkg/mod/x.go");
  assert.equal(toEditorPath("/build/application/main.go", rules), "/build/application/main.go");
  assert.equal(toEditorPath("/elsewhere/x.go", undefined), "/elsewhere/x.go");
});

test("name mismatch: pr_fname is cut to 15 bytes, so a longer name still matches", () => {
  assert.equal(nameMismatch("/x/server", "server", "/y/server"), undefined);
  assert.equal(nameMismatch("/x/a-very-long-server-name", "a-very-long-ser", undefined), undefined);
  assert.match(nameMismatch("/x/other", "server", "/y/server") ?? "", /written by "\/y\/server"/);
  assert.equal(nameMismatch("/x/other", undefined, undefined), undefined);
});

test("missing files, folders, text files and swapped files are errors with a clear message", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gocore-cfg-"));
  try {
    const text = path.join(dir, "notes.txt");
    fs.writeFileSync(text, "hello");
    const missing = await gatherFacts({ program: path.join(dir, "nope"), coreFilePath: path.join(dir, "nocore") });
    const m = checkFiles({ program: path.join(dir, "nope"), coreFilePath: path.join(dir, "nocore") }, missing);
    assert.deepEqual(m.map((p) => [p.severity, p.field]), [["error", "coreFilePath"], ["error", "program"]]);
    assert.match(m[0].message, /does not exist/);

    const folder = checkFiles({ program: dir, coreFilePath: text }, await gatherFacts({ program: dir, coreFilePath: text }));
    assert.match(folder.find((p) => p.field === "program")?.message ?? "", /is a folder/);
    assert.match(folder.find((p) => p.field === "coreFilePath")?.message ?? "", /not a core dump/);

    const zst = path.join(dir, "core.zst");
    fs.writeFileSync(zst, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]));
    const compressed = checkFiles({ coreFilePath: zst }, await gatherFacts({ coreFilePath: zst }));
    assert.deepEqual(compressed, [], "compressed cores are left to the adapter");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("on a real core: the right pair passes, swapped files are named as such", async (t) => {
  const c = corpus();
  if (!c) {
    unavailable(t, "no corpus core");
    return;
  }
  const good = { program: c.program, coreFilePath: c.core };
  assert.deepEqual(checkFiles(good, await gatherFacts(good)), []);
  const swapped = { program: c.core, coreFilePath: c.program };
  const problems = checkFiles(swapped, await gatherFacts(swapped));
  assert.equal(problems.length, 2);
  for (const p of problems) {
    assert.equal(p.severity, "error");
    assert.match(p.message, /swapped/);
  }
});

test("on a real core: another executable gets a warning, not an error", async (t) => {
  const c = corpus();
  if (!c) {
    unavailable(t, "no corpus core");
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gocore-cfg-"));
  try {
    const other = path.join(dir, "some-other-server");
    fs.copyFileSync(c.program, other);
    const config = { program: other, coreFilePath: c.core };
    const problems = checkFiles(config, await gatherFacts(config));
    assert.deepEqual(problems.map((p) => p.severity), ["warning"]);
    assert.match(problems[0].message, /exact executable/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
