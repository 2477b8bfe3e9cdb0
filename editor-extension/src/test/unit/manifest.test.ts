// package.json is code too: commands referenced by menus exist, the engine fits code-server 4.100, the pure
// modules load without the vscode module.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { YOUR_CODE } from "../../launchConfig";
import { extensionRoot } from "../support";

interface Manifest {
  engines: { vscode: string };
  devDependencies: Record<string, string>;
  activationEvents: string[];
  contributes: {
    commands: Array<{ command: string; title: string }>;
    menus: Record<string, Array<{ command: string; when?: string }>>;
    views: Record<string, Array<{ id: string }>>;
    debuggers: Array<{
      type: string;
      configurationAttributes: { launch: { properties: Record<string, { description?: string; markdownDescription?: string }> } };
      initialConfigurations: Array<Record<string, unknown>>;
      configurationSnippets: Array<{ label: string; body: Record<string, unknown> }>;
    }>;
  };
}

const manifest = JSON.parse(fs.readFileSync(path.join(extensionRoot, "package.json"), "utf8")) as Manifest;

test("engines.vscode and @types/vscode stay at 1.100 or lower (code-server 4.100.3 loads it)", () => {
  assert.match(manifest.engines.vscode, /^\^1\.(\d|[1-9]\d|100)\.\d+$/);
  const types = manifest.devDependencies["@types/vscode"];
  assert.match(types, /^[~^]?1\.(\d|[1-9]\d|100)\.\d+$/);
  const installed = JSON.parse(fs.readFileSync(path.join(extensionRoot, "node_modules", "@types", "vscode", "package.json"), "utf8")) as { version: string };
  assert.ok(Number(installed.version.split(".")[1]) <= 100, installed.version);
});

test("every command in a menu is contributed, and every contributed command is registered in the code", () => {
  const contributed = new Set(manifest.contributes.commands.map((c) => c.command));
  for (const [menu, entries] of Object.entries(manifest.contributes.menus)) {
    for (const entry of entries) {
      assert.ok(contributed.has(entry.command), `${menu}: ${entry.command}`);
    }
  }
  const out = fs.readdirSync(path.join(extensionRoot, "out")).filter((f) => f.endsWith(".js"));
  const code = out.map((f) => fs.readFileSync(path.join(extensionRoot, "out", f), "utf8")).join("\n");
  for (const command of contributed) {
    assert.ok(code.includes(`registerCommand("${command}"`), `${command} is not registered`);
  }
});

test("the Goroutines view is in the Run and Debug container", () => {
  assert.deepEqual(
    manifest.contributes.views.debug.map((v) => v.id),
    ["goCore.goroutines"],
  );
});

test("the go-core debugger documents every launch attribute and its snippets are launch configurations", () => {
  const [debuggerEntry] = manifest.contributes.debuggers;
  assert.equal(debuggerEntry.type, "go-core");
  const props = debuggerEntry.configurationAttributes.launch.properties;
  for (const key of ["program", "coreFilePath", "dlvPath", "substitutePath", "stackTraceDepth", "hideSystemGoroutines", "showRegisters", "maxThreads", "dlvTimeout", "yourCode"]) {
    assert.ok(props[key], key);
    assert.ok(props[key].description || props[key].markdownDescription, `${key} has a description`);
  }
  for (const c of [...debuggerEntry.initialConfigurations, ...debuggerEntry.configurationSnippets.map((s) => s.body)]) {
    assert.equal(c.type, "go-core");
    assert.equal(c.request, "launch");
    assert.ok(c.name);
  }
  assert.ok(manifest.activationEvents.includes("onDebugResolve:go-core"));
});

test("the pure modules load without the vscode module (node alone runs their tests)", () => {
  for (const name of ["adapterDiscovery", "adapterProxy", "coreNames", "coreSource", "crashInfo", "elfCore", "goProtocol", "goroutineTree", "launchConfig"]) {
    const file = path.join(extensionRoot, "out", `${name}.js`);
    const source = fs.readFileSync(file, "utf8");
    assert.ok(!/require\("vscode"\)/.test(source), `${name} imports vscode`);
  }
});

test("yourCode offers exactly the adapter's scopes (goviews/code_scope.py YourCode), default first", () => {
  const [debuggerEntry] = manifest.contributes.debuggers;
  const prop = debuggerEntry.configurationAttributes.launch.properties.yourCode as unknown as { enum: string[]; default: string };
  const source = fs.readFileSync(path.join(extensionRoot, "..", "adapter", "gocore_dap", "goviews", "code_scope.py"), "utf8");
  const block = /class YourCode\(enum\.StrEnum\):\n((?:\s+\w+ = "\w+"\n)+)/.exec(source);
  assert.ok(block, "class YourCode not found in code_scope.py");
  const adapter = [...block[1].matchAll(/= "(\w+)"/g)].map((m) => m[1]).sort();
  assert.deepEqual([...prop.enum].sort(), adapter);
  assert.deepEqual([...YOUR_CODE].sort(), adapter);
  assert.equal(prop.default, "modules");
  assert.equal(prop.enum[0], prop.default);
});
