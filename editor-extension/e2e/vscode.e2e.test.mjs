// End-to-end test in real VS Code: code-server 4.100.3 (VS Code 1.100.3) in headless Debian Chromium, driven
// by playwright-core. Run by tests/e2e/test_vscode_e2e.py (which builds the core and the .vsix and passes
// them in the environment); can be run by hand too:
//   GOCORE_E2E_PROGRAM=... GOCORE_E2E_CORE=... GOCORE_E2E_VSIX=... GOCORE_DAP_PATH=... \
//     node --test editor-extension/e2e/vscode.e2e.test.mjs
// Scenario 1 (F5): a workspace whose launch.json points at the core; F5; the Call Stack shows the crashing
// goroutine paused on its first user frame, the Goroutines view shows the buckets with the crasher's first,
// the crash message is visible (exception widget, status bar, view header); clicking another goroutine
// selects it in the Call Stack.
// Scenario 2 ("Go: Open Core Dump…"): no launch.json; the command palette, the core path typed into the
// file dialog, the executable named in the core picked from the list.
// Scenario 3 (GOCORE_E2E_CASES, one F5 per core): where the editor lands. A core where no goroutine crashed (a
// deadlock): the Call Stack keeps the runtime's thread, crashed, but the editor opens the line of the program
// the manifest names (main.main's) on the asleep goroutine, and the Goroutines view opens by itself with it
// first; a crash in C code under cgo: the editor opens the faulting C line.
// Scenario 4 (the crash in the source): after F5 the language server (gocore-dap lsp, started by the
// extension) marks the crash line with an error and a parked line with its goroutine count (Problems panel,
// inlay hint); the session's end takes the marks away.
import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const codeServer = path.join(here, "node_modules", ".bin", "code-server");
const env = process.env;
const STEP = 60_000;

const inputs = {
  program: env.GOCORE_E2E_PROGRAM,
  core: env.GOCORE_E2E_CORE,
  vsix: env.GOCORE_E2E_VSIX,
  adapter: env.GOCORE_DAP_PATH,
  headline: env.GOCORE_E2E_HEADLINE,
  sourceFile: env.GOCORE_E2E_SOURCE,
  line: env.GOCORE_E2E_LINE ? Number(env.GOCORE_E2E_LINE) : undefined,
  userFunction: env.GOCORE_E2E_FUNCTION,
  artifacts: env.GOCORE_E2E_ARTIFACTS ?? path.resolve(here, "..", "..", "test-artifacts", "e2e"),
  readmeShot: env.GOCORE_E2E_README_SHOT,
  parkedLine: env.GOCORE_E2E_PARKED_LINE ? Number(env.GOCORE_E2E_PARKED_LINE) : undefined,
  parkedText: env.GOCORE_E2E_PARKED_TEXT,
  chromium: env.GOCORE_E2E_CHROMIUM ?? "/usr/bin/chromium",
  // The stopped event's description: the short badge VS Code prints on the crashed thread's row.
  badge: env.GOCORE_E2E_BADGE,
  // [{name, program, core, source, line, function, headline, badge, asleep}]: more cores, one F5 each.
  cases: env.GOCORE_E2E_CASES ? JSON.parse(env.GOCORE_E2E_CASES) : [],
  // {program, core, source, line, function, goroutines}: a core with many goroutines, where the crash line must
  // open before the Goroutines view has its data.
  big: env.GOCORE_E2E_BIG ? JSON.parse(env.GOCORE_E2E_BIG) : undefined,
};

const missing = [
  ["GOCORE_E2E_PROGRAM", inputs.program],
  ["GOCORE_E2E_CORE", inputs.core],
  ["GOCORE_E2E_VSIX", inputs.vsix],
  ["GOCORE_DAP_PATH", inputs.adapter],
  ["code-server (editor-extension/scripts/setup-e2e.sh)", fs.existsSync(codeServer) ? codeServer : undefined],
  ["chromium (editor-extension/scripts/setup-e2e.sh)", fs.existsSync(inputs.chromium) ? inputs.chromium : undefined],
]
  .filter(([, v]) => !v)
  .map(([k]) => k);
const strict = env.CI === "true" || env.GOCORE_TEST_STRICT === "1";
if (missing.length > 0 && strict) {
  test("e2e inputs are available", () => assert.fail(`missing: ${missing.join(", ")} (CI=true: a missing tool fails the run)`));
}
const skip = missing.length > 0 && !strict ? `missing: ${missing.join(", ")}` : false;

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url, child, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (child.exitCode !== null) {
      throw new Error(`code-server exited with code ${child.exitCode}`);
    }
    try {
      const r = await fetch(url);
      if (r.ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within ${ms / 1000} s`);
}

/** One code-server with the extension installed from the .vsix, in a throw-away user-data dir. */
class VSCode {
  constructor(name, extraEnv = {}) {
    this.name = name;
    this.extraEnv = extraEnv;
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), `gocore-e2e-${name}-`));
    this.userData = path.join(this.root, "user-data");
    this.extensions = path.join(this.root, "extensions");
    this.workspace = path.join(this.root, "workspace");
    this.log = [];
    fs.mkdirSync(path.join(this.userData, "User"), { recursive: true });
    fs.mkdirSync(path.join(this.workspace, ".vscode"), { recursive: true });
    fs.writeFileSync(
      path.join(this.userData, "User", "settings.json"),
      JSON.stringify(
        {
          "workbench.startupEditor": "none",
          "workbench.tips.enabled": false,
          "workbench.enableExperiments": false,
          "telemetry.telemetryLevel": "off",
          "extensions.autoCheckUpdates": false,
          "extensions.autoUpdate": false,
          "update.mode": "none",
          "security.workspace.trust.enabled": false,
          "workbench.colorTheme": "Default Dark Modern",
          "window.commandCenter": false,
          "chat.commandCenter.enabled": false,
          "workbench.secondarySideBar.defaultVisibility": "hidden",
          "editor.minimap.enabled": false,
          "git.openRepositoryInParentFolders": "never",
          "git.enabled": false,
        },
        null,
        2,
      ),
    );
    fs.writeFileSync(path.join(this.root, "config.yaml"), "auth: none\ncert: false\n");
  }

  /** A .vscode/launch.json with one go-core configuration: what F5 starts. */
  writeLaunch(name, program, core) {
    const configurations = [{ name, type: "go-core", request: "launch", program, coreFilePath: core }];
    fs.writeFileSync(path.join(this.workspace, ".vscode", "launch.json"), JSON.stringify({ version: "0.2.0", configurations }, null, 2));
  }

  async start() {
    execFileSync(codeServer, ["--user-data-dir", this.userData, "--extensions-dir", this.extensions, "--install-extension", inputs.vsix, "--force"], {
      stdio: "pipe",
      timeout: STEP,
    });
    this.port = await freePort();
    this.child = spawn(
      codeServer,
      [
        "--config",
        path.join(this.root, "config.yaml"),
        "--user-data-dir",
        this.userData,
        "--extensions-dir",
        this.extensions,
        "--bind-addr",
        `127.0.0.1:${this.port}`,
        "--auth",
        "none",
        "--disable-telemetry",
        "--disable-update-check",
        "--disable-workspace-trust",
        "--disable-getting-started-override",
        "--ignore-last-opened",
      ],
      // The extension host inherits this environment: GOCORE_DAP_PATH tells the extension where the adapter is.
      { env: { ...env, ...this.extraEnv, GOCORE_DAP_PATH: inputs.adapter }, stdio: ["ignore", "pipe", "pipe"], detached: false },
    );
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream.on("data", (chunk) => this.log.push(chunk.toString()));
    }
    await waitForHttp(`http://127.0.0.1:${this.port}/healthz`, this.child, STEP);
  }

  url() {
    return `http://127.0.0.1:${this.port}/?folder=${encodeURIComponent(this.workspace)}`;
  }

  stop() {
    if (this.child && this.child.exitCode === null) {
      this.child.kill("SIGTERM");
    }
    if (env.GOCORE_E2E_KEEP !== "1") {
      fs.rmSync(this.root, { recursive: true, force: true });
    }
  }
}

async function launchBrowser() {
  return chromium.launch({
    executablePath: inputs.chromium,
    headless: true,
    // Debian chromium as root: no sandbox; nothing that phones home.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
}

async function openWorkbench(browser, vscode) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP);
  await page.goto(vscode.url());
  await page.locator(".monaco-workbench").waitFor();
  await page.locator(".part.statusbar").waitFor();
  // Let the workbench settle (extensions scanned, explorer rendered) before sending keys.
  await page.locator(".explorer-folders-view, .explorer-viewlet, .pane-header").first().waitFor();
  await page.waitForTimeout(1500);
  return page;
}

async function shot(page, name) {
  fs.mkdirSync(inputs.artifacts, { recursive: true });
  const file = path.join(inputs.artifacts, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** The pane of a view in the Run and Debug container, expanded. */
async function pane(page, title) {
  const header = page.locator(".pane-header", { hasText: new RegExp(`^\\s*${title}`, "i") }).first();
  await header.waitFor();
  if ((await header.getAttribute("aria-expanded")) !== "true") {
    await header.click();
  }
  return page.locator(".pane", { has: header });
}

/**
 * F5 in the Run and Debug view. On a loaded machine the workbench can drop the first key press (the view is
 * still settling): if no debug session starts, the view's own Start Debugging button is clicked.
 */
async function startDebugging(page) {
  await page.keyboard.press("Control+Shift+D");
  await page.locator(".debug-start-action, .start-debug-action-item, .debug-view-content").first().waitFor();
  await page.keyboard.press("F5");
  const toolbar = page.locator(".debug-toolbar");
  try {
    await toolbar.waitFor({ timeout: 30_000 });
    return;
  } catch {
    // Not started (or still starting: a progress bar runs in the view while the launch is resolved).
  }
  const starting = await page.locator(".part.sidebar .monaco-progress-container.active").count();
  if (starting === 0) {
    await page.locator(".debug-start-action .codicon-debug-start, .start-debug-action-item .codicon-debug-start").first().click();
  }
  await toolbar.waitFor();
}

async function runCommand(page, title) {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor();
  await input.fill(`>${title}`);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first().waitFor();
  await page.keyboard.press("Enter");
}

/** The crash report commands: Markdown to the clipboard (and shown on request), HTML in a webview. */
async function expectReports(page, label) {
  await runCommand(page, "Go Core: Copy Crash Report as Markdown");
  const toast = page.locator(".notification-toast", { hasText: "copied as Markdown" }).first();
  await toast.waitFor();
  await toast.locator(".monaco-button", { hasText: "Show" }).click();
  // An untitled editor is named after its first line: the report's title, the crash headline.
  await page.locator(".tab.active", { hasText: `# ${inputs.headline}`.slice(0, 24) }).waitFor();

  await runCommand(page, "Go Core: Open HTML Crash Report");
  await page.locator(".tab.active", { hasText: "Crash report:" }).waitFor();
  const deadline = Date.now() + STEP;
  for (;;) {
    let found = false;
    for (const frame of page.frames()) {
      const text = await frame.evaluate(() => document.body?.innerText ?? "").catch(() => "");
      if (text.includes(inputs.headline)) {
        found = true;
      }
    }
    if (found) {
      break;
    }
    assert.ok(Date.now() < deadline, `${label}: the HTML report's webview shows "${inputs.headline}"`);
    await page.waitForTimeout(250);
  }
}

async function foldPanes(page, titles) {
  for (const title of titles) {
    const header = page.locator(".pane-header", { hasText: new RegExp(`^\\s*${title}`, "i") }).first();
    if ((await header.count()) > 0 && (await header.getAttribute("aria-expanded")) === "true") {
      // On the chevron: a hover of the view's toolbar (Start Debugging's tooltip, shown while it has the
      // keyboard focus) can cover the middle of the Variables header.
      await header.click({ position: { x: 10, y: 10 } });
    }
  }
}

async function editorLine(page) {
  const text = await page.locator('[id="status.editor.selection"]').innerText({ timeout: STEP });
  const m = /Ln (\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * The crashed thread's row in the Call Stack: its state label is the stopped event's description, a short badge
 * (VS Code upper-cases it), so that the thread's own name keeps its room at the default sidebar width.
 */
async function expectBadge(page, label, badge, threadPattern) {
  const row = page.locator(".debug-call-stack .monaco-list-row", { hasText: "(crashed)" }).first();
  await row.waitFor();
  const name = (await row.locator(".name").first().innerText()).trim();
  assert.match(name, threadPattern, `${label}: the crashed thread's row`);
  if (badge) {
    const state = (await row.locator(".state").first().innerText()).trim();
    assert.equal(state.toLowerCase(), badge.toLowerCase(), `${label}: the crashed thread's badge`);
  }
  // The name is readable, not squeezed to a few characters by the badge.
  const box = await row.locator(".name").first().boundingBox();
  assert.ok(box && box.width >= 120, `${label}: the crashed thread's name is ${box?.width ?? 0}px wide`);
}

async function expectEditorAt(page, label, sourceFile, line) {
  if (sourceFile) {
    const tab = page.locator(".tab.active");
    await tab.waitFor();
    await page.waitForFunction(
      (want) => (document.querySelector(".tab.active")?.textContent ?? "").trim().startsWith(want),
      path.basename(sourceFile),
      { timeout: STEP },
    );
    assert.equal((await tab.innerText()).split("\n")[0].trim(), path.basename(sourceFile), `${label}: the editor shows ${sourceFile}`);
  }
  if (line) {
    await page.waitForFunction(
      (want) => (document.getElementById("status.editor.selection")?.textContent ?? "").includes(`Ln ${want},`),
      line,
      { timeout: STEP },
    );
    assert.equal(await editorLine(page), line, `${label}: the editor's line`);
  }
}

async function expectCrashShown(page, label) {
  // Paused: the top stack frame's decoration in the editor and the debug toolbar.
  await page.locator(".debug-toolbar").waitFor();
  await page.locator(".debug-top-stack-frame, .debug-top-stack-frame-line").first().waitFor();

  // The Call Stack: the crashing goroutine, paused on the exception, its first frame of the program's selected.
  const callStack = page.locator(".debug-call-stack");
  await callStack.waitFor();
  await page.waitForFunction(() => /\(crashed\)/.test(document.querySelector(".debug-call-stack")?.textContent ?? ""), undefined, { timeout: STEP });
  const stackText = await callStack.innerText();
  assert.match(stackText, /goroutine \d+ \[running\][^\n]*\(crashed\)/, `${label}: Call Stack shows the crashing goroutine:\n${stackText}`);
  await expectBadge(page, label, inputs.badge, /^goroutine \d+ \[running\] \S+ \(crashed\)$/);
  if (inputs.userFunction) {
    const selected = await callStack.locator(".monaco-list-row.selected, .monaco-list-row.focused").first().innerText();
    assert.ok(selected.includes(inputs.userFunction), `${label}: the selected frame is the first user frame ${inputs.userFunction}, not: ${selected}`);
  }

  // The editor: the crashing line of the source, with the exception widget carrying the crash message.
  await expectEditorAt(page, label, inputs.sourceFile, inputs.line);
  const widget = page.locator(".exception-widget");
  await widget.waitFor();
  const widgetText = await widget.innerText();
  if (inputs.headline) {
    assert.ok(widgetText.includes(inputs.headline), `${label}: exception widget shows "${inputs.headline}":\n${widgetText}`);
    // The status bar item.
    await page.locator(".statusbar-item", { hasText: inputs.headline }).first().waitFor();
  }

  // The Goroutines view: opened by the extension, buckets with counts, the crasher's bucket first and expanded.
  // Fold the panes above it first: its list only renders the rows it has room for.
  await foldPanes(page, ["Variables", "Watch", "Breakpoints"]);
  const view = await pane(page, "Goroutines");
  const rows = view.locator(".monaco-list-row");
  await rows.first().waitFor();
  await page.waitForFunction(() => {
    const panes = [...document.querySelectorAll(".pane")].filter((p) => /Goroutines/i.test(p.querySelector(".pane-header")?.textContent ?? ""));
    return panes.length > 0 && panes[0].querySelectorAll(".monaco-list-row").length >= 3;
  }, undefined, { timeout: STEP });
  const texts = await rows.allInnerTexts();
  const first = texts[0].replace(/\s+/g, " ");
  assert.match(first, /crashed · ×1 · running/, `${label}: the first bucket is the crasher's: ${first}`);
  if (inputs.userFunction) {
    assert.ok(first.includes(inputs.userFunction.replace(/^.*\//, "")), `${label}: first bucket ${first}`);
  }
  assert.equal(await rows.first().getAttribute("aria-expanded"), "true", `${label}: the crasher's bucket is expanded`);
  assert.ok(texts.some((t) => /goroutine \d+/.test(t) && /crashed/.test(t)), `${label}: the crashing goroutine is listed in its bucket:\n${texts.join("\n")}`);
  const topLevel = (await view.locator('.monaco-list-row[aria-level="1"]').allInnerTexts()).map((t) => t.replace(/\s+/g, " "));
  assert.ok(topLevel.length >= 2, `${label}: several buckets:\n${topLevel.join("\n")}`);
  if (inputs.headline) {
    const viewText = await view.innerText();
    assert.ok(viewText.includes(inputs.headline), `${label}: the Goroutines view header shows the crash:\n${viewText}`);
  }
  return { view, texts };
}

/** The picture in the README: the crash, the Call Stack and the Goroutines view with room to breathe. */
async function readmeShot(page) {
  await page.locator(".exception-widget").waitFor();
  await page.keyboard.press("Control+J"); // close the bottom panel
  await foldPanes(page, ["Variables", "Watch", "Breakpoints"]);
  const view = await pane(page, "Goroutines");
  await view.locator('.monaco-list-row[aria-level="1"]').nth(3).waitFor();
  // A wider sidebar, so that the buckets' labels and states are readable: drag the sash at its edge.
  const sidebar = await page.locator(".part.sidebar").boundingBox();
  if (sidebar) {
    const x = sidebar.x + sidebar.width;
    await page.mouse.move(x + 1, 400);
    await page.mouse.down();
    await page.mouse.move(x + 260, 400, { steps: 8 });
    await page.mouse.up();
  }
  // The crash in the editor, with the crasher's row selected in the view.
  await view.locator(".monaco-list-row", { hasText: /goroutine \d+/ }).filter({ hasText: "crashed" }).first().click();
  await page.locator(".exception-widget").waitFor();
  await page.mouse.move(1200, 780);
  await page.waitForTimeout(800);
  fs.mkdirSync(path.dirname(inputs.readmeShot), { recursive: true });
  await page.screenshot({ path: inputs.readmeShot });
}

// GOCORE_E2E_README_SHOT=FILE runs only the README picture (on whatever core the inputs name).
const only = inputs.readmeShot ? "readme" : "tests";

describe("gocore-dap in VS Code (code-server 4.100.3, headless Chromium)", { skip }, () => {
  let browser;
  const servers = [];

  before(async () => {
    browser = await launchBrowser();
  });

  // Each scenario's code-server (with its extension host, adapter, language server and Delve) ends with the
  // scenario: the next one should not share the machine with it.
  afterEach(async () => {
    for (const context of browser?.contexts() ?? []) {
      await context.close().catch(() => undefined);
    }
    for (const s of servers.splice(0)) {
      s.stop();
    }
  });

  after(async () => {
    await browser?.close();
    for (const s of servers) {
      s.stop();
    }
  });

  test("F5 on a launch.json that points at a core shows the crash, the crashing goroutine and the Goroutines view", { skip: only !== "tests" }, async () => {
    const vscode = new VSCode("f5");
    servers.push(vscode);
    vscode.writeLaunch("Open Go core dump", inputs.program, inputs.core);
    await vscode.start();
    const page = await openWorkbench(browser, vscode);
    try {
      await startDebugging(page);
      const { view, texts } = await expectCrashShown(page, "F5");
      await shot(page, "01-f5-crash");

      // Clicking a goroutine of another bucket selects it in the Call Stack and opens its frame.
      // A bucket of the program's own (not the crasher's, not the folded "Go runtime").
      const otherBucket = view.locator('.monaco-list-row[aria-level="1"]', { hasText: "×" }).filter({ hasNotText: "crashed" }).first();
      const bucketLabel = (await otherBucket.locator(".label-name, .monaco-highlighted-label").first().innerText()).trim().split(" (")[0];
      await otherBucket.click();
      const member = view.locator(".monaco-list-row", { hasText: /^\s*goroutine \d+/ }).filter({ hasNotText: "crashed" }).first();
      await member.waitFor();
      const memberText = (await member.innerText()).replace(/\s+/g, " ");
      const id = /goroutine (\d+)/.exec(memberText)?.[1];
      assert.ok(id, memberText);
      await member.click();
      await page.waitForFunction(
        (want) => {
          const sel = document.querySelector(".debug-call-stack .monaco-list-row.selected, .debug-call-stack .monaco-list-row.focused");
          return (sel?.textContent ?? "").includes(want);
        },
        bucketLabel,
        { timeout: STEP },
      );
      const callStack = await page.locator(".debug-call-stack").innerText();
      assert.match(callStack, new RegExp(`goroutine ${id} \\[`), `goroutine ${id} is expanded in the Call Stack:\n${callStack}`);
      await shot(page, "02-goroutine-selected");

      if (inputs.headline && env.GOCORE_E2E_REPORTS !== "0") {
        await expectReports(page, "F5");
        await shot(page, "03-html-report");
      }

      void texts;
    } catch (error) {
      await shot(page, "f5-failure").catch(() => undefined);
      error.message += `\n--- code-server log (tail) ---\n${vscode.log.join("").split("\n").slice(-30).join("\n")}`;
      throw error;
    }
  });

  test('"Go: Open Core Dump…" without a launch.json: pick the core, then the executable named in the core', { skip: only !== "tests" }, async () => {
    const vscode = new VSCode("command");
    servers.push(vscode);
    await vscode.start();
    const page = await openWorkbench(browser, vscode);
    try {
      const input = page.locator(".quick-input-widget input");
      // Right after start-up the extension's commands may not be registered yet (code-server still scanning
      // extensions on a loaded machine): ask the palette again until they are.
      for (let attempt = 1; ; attempt++) {
        await page.keyboard.press("F1");
        await input.waitFor();
        await input.fill(">Go: Open Core Dump");
        try {
          await page.locator(".quick-input-list .monaco-list-row", { hasText: "Open Core Dump" }).first().waitFor({ timeout: 15_000 });
          break;
        } catch (error) {
          if (attempt === 4) {
            throw error;
          }
          await page.keyboard.press("Escape");
          await page.waitForTimeout(1000);
        }
      }
      await page.keyboard.press("Enter");
      // code-server's file dialog is a quick input with a path box.
      await page.locator(".quick-input-widget", { hasText: /Select a Go core dump|Open Core Dump/ }).first().waitFor();
      // The dialog fills in its starting folder asynchronously: wait for its listing, then type over it.
      await page.locator(".quick-input-list .monaco-list-row", { hasText: ".vscode" }).first().waitFor();
      for (let attempt = 1; ; attempt++) {
        await input.fill(inputs.core);
        await page.waitForTimeout(400);
        if ((await input.inputValue()) === inputs.core) {
          break;
        }
        assert.ok(attempt < 5, `could not type the core path into the file dialog (it shows ${await input.inputValue()})`);
      }
      await page.keyboard.press("Enter");
      // The executables: the one named in the core comes first.
      const named = page.locator(".quick-input-list .monaco-list-row", { hasText: "named in the core" }).first();
      await named.waitFor();
      const firstRow = (await page.locator(".quick-input-list .monaco-list-row").first().innerText()).replace(/\s+/g, " ");
      assert.ok(firstRow.includes(path.basename(inputs.program)) && firstRow.includes("named in the core"), firstRow);
      await shot(page, "04-pick-executable");
      await page.keyboard.press("Enter");
      await expectCrashShown(page, "Open Core Dump");
      await shot(page, "05-open-core-dump-crash");
    } catch (error) {
      await shot(page, "command-failure").catch(() => undefined);
      error.message += `\n--- code-server log (tail) ---\n${vscode.log.join("").split("\n").slice(-30).join("\n")}`;
      throw error;
    }
  });

  test("the Explorer context menu of a file named core opens it", { skip: only !== "tests" }, async () => {
    const vscode = new VSCode("explorer");
    servers.push(vscode);
    fs.symlinkSync(inputs.core, path.join(vscode.workspace, "core"));
    await vscode.start();
    const page = await openWorkbench(browser, vscode);
    try {
      const item = page.locator(".explorer-folders-view .monaco-list-row", { hasText: /^\s*core\s*$/ }).first();
      await item.waitFor();
      const entry = page.locator(".monaco-menu .action-label", { hasText: "Open Core Dump…" }).first();
      // The menu's entries come from the extension's contributions; right after start-up they may not be
      // registered yet, so open the menu again if the entry is not there.
      for (let attempt = 1; ; attempt++) {
        await item.click({ button: "right" });
        try {
          await entry.waitFor({ timeout: 5000 });
          break;
        } catch (error) {
          if (attempt === 4) {
            throw error;
          }
          await page.keyboard.press("Escape");
          await page.waitForTimeout(1000);
        }
      }
      await entry.hover();
      await page.waitForTimeout(200);
      await entry.click();
      const named = page.locator(".quick-input-list .monaco-list-row", { hasText: "named in the core" }).first();
      try {
        await named.waitFor({ timeout: 5000 });
      } catch {
        // The click landed while the menu was still settling: the entry is highlighted, Enter runs it.
        if (await entry.isVisible()) {
          await page.keyboard.press("Enter");
        }
        await named.waitFor();
      }
      await page.keyboard.press("Enter");
      await expectCrashShown(page, "Explorer");
      await shot(page, "06-explorer-crash");
    } catch (error) {
      await shot(page, "explorer-failure").catch(() => undefined);
      error.message += `\n--- code-server log (tail) ---\n${vscode.log.join("").split("\n").slice(-30).join("\n")}`;
      throw error;
    }
  });

  for (const c of inputs.cases) {
    test(`F5 on ${c.name}: the editor lands on ${c.function} (${path.basename(c.source)}:${c.line})`, { skip: only !== "tests" }, async () => {
      const vscode = new VSCode(c.name);
      servers.push(vscode);
      vscode.writeLaunch(`Open ${c.name}`, c.program, c.core);
      await vscode.start();
      const page = await openWorkbench(browser, vscode);
      try {
        await startDebugging(page);
        // The editor opens the author's line; VS Code decorates it as the focused thread's top stack frame.
        await expectEditorAt(page, c.name, c.source, c.line);
        await page.locator(".debug-top-stack-frame, .debug-top-stack-frame-line").first().waitFor();
        const callStack = page.locator(".debug-call-stack");
        await page.waitForFunction(() => /\(crashed\)/.test(document.querySelector(".debug-call-stack")?.textContent ?? ""), undefined, { timeout: STEP });
        await expectBadge(page, c.name, c.badge, c.asleep ? /^thread \d+ \[no goroutine\] \S+ \(crashed\)$/ : /^goroutine \d+ \[\w+\] \S+ \(crashed\)$/);
        const selected = await callStack.locator(".monaco-list-row.selected, .monaco-list-row.focused").first().innerText();
        assert.ok(selected.includes(c.function), `${c.name}: the selected frame is ${c.function}, not: ${selected}`);
        const stackText = await callStack.innerText();
        if (c.asleep) {
          // The runtime's thread stays listed (and crashed); the editor is on the asleep goroutine, whose row is
          // the one expanded with the selected frame below it.
          const rows = (await callStack.locator(".monaco-list-row").allInnerTexts()).map((t) => t.replace(/\s+/g, " ").trim());
          const at = rows.findIndex((t) => t.includes(c.function) && !/^goroutine|^thread/.test(t));
          const owner = rows.slice(0, at).reverse().find((t) => /^(goroutine|thread) \d+/.test(t)) ?? "";
          assert.match(owner, /^goroutine 1 \[/, `${c.name}: the selected frame belongs to the main goroutine:\n${rows.join("\n")}`);
        }
        void stackText;
        const widget = page.locator(".exception-widget");
        await widget.waitFor();
        const widgetText = await widget.innerText();
        assert.ok(widgetText.includes(c.message), `${c.name}: exception widget shows "${c.message}":\n${widgetText}`);
        await page.locator(".statusbar-item", { hasText: c.headline }).first().waitFor();
        // The Goroutines view opens by itself (it starts collapsed at the bottom of Run and Debug).
        const header = page.locator(".pane-header", { hasText: /^\s*Goroutines/i }).first();
        await header.waitFor();
        await page.waitForFunction(
          () => [...document.querySelectorAll(".pane-header")].some((h) => /Goroutines/i.test(h.textContent ?? "") && h.getAttribute("aria-expanded") === "true"),
          undefined,
          { timeout: STEP },
        );
        await foldPanes(page, ["Variables", "Watch", "Breakpoints"]);
        const view = page.locator(".pane", { has: header });
        const first = view.locator('.monaco-list-row[aria-level="1"]').first();
        await first.waitFor();
        const firstText = (await first.innerText()).replace(/\s+/g, " ");
        assert.ok(firstText.includes(c.function.replace(/^.*\//, "")), `${c.name}: the first bucket is ${c.function}'s: ${firstText}`);
        assert.equal(await first.getAttribute("aria-expanded"), "true", `${c.name}: the first bucket is expanded`);
        await page.mouse.move(1200, 780);
        await page.waitForTimeout(500);
        await shot(page, `07-${c.name}`);
      } catch (error) {
        await shot(page, `${c.name}-failure`).catch(() => undefined);
        error.message += `\n--- code-server log (tail) ---\n${vscode.log.join("").split("\n").slice(-30).join("\n")}`;
        throw error;
      }
    });
  }

  test("after F5 the source shows the crash line and the goroutines parked on each line (the language server)", { skip: only !== "tests" }, async () => {
    assert.ok(inputs.parkedText && inputs.parkedLine, "GOCORE_E2E_PARKED_LINE and GOCORE_E2E_PARKED_TEXT (set by tests/e2e/test_vscode_e2e.py)");
    const vscode = new VSCode("source");
    servers.push(vscode);
    vscode.writeLaunch("Open Go core dump", inputs.program, inputs.core);
    await vscode.start();
    const page = await openWorkbench(browser, vscode);
    try {
      await startDebugging(page);
      await page.locator(".exception-widget").waitFor();

      // The Problems panel lists what the language server published for the open file.
      await page.keyboard.press("Control+Shift+M");
      const problems = page.locator(".markers-panel");
      await problems.waitFor();
      const rowsText = async () => (await problems.locator(".monaco-list-row").allInnerTexts()).map((t) => t.replace(/\s+/g, " "));
      const deadline = Date.now() + 2 * STEP;
      let rows = [];
      for (;;) {
        rows = await rowsText();
        const crash = rows.some((t) => inputs.headline && t.includes(inputs.headline) && t.includes(`[Ln ${inputs.line},`));
        const parked = rows.some((t) => t.includes(inputs.parkedText) && t.includes(`[Ln ${inputs.parkedLine},`));
        if (crash && parked) {
          break;
        }
        assert.ok(Date.now() < deadline, `the Problems panel shows the crash on line ${inputs.line} and "${inputs.parkedText}" on line ${inputs.parkedLine}:\n${rows.join("\n")}`);
        await page.waitForTimeout(500);
      }
      assert.ok(rows.some((t) => /gocore-dap/.test(t)), `the diagnostics name their source:\n${rows.join("\n")}`);

      // The parked line carries an inlay hint with the same count, in the editor itself: bring it into view.
      await page.locator(".monaco-editor .view-lines").first().click();
      await page.keyboard.press("Control+G");
      await page.locator(".quick-input-widget input").waitFor();
      await page.keyboard.type(String(inputs.parkedLine));
      await page.keyboard.press("Enter");
      // The hint is text of the rendered line (VS Code writes its spaces as no-break spaces).
      await page.waitForFunction(
        (want) =>
          [...document.querySelectorAll(".monaco-editor .view-lines .view-line")].some((line) =>
            (line.textContent ?? "").replace(/\u00a0/g, " ").includes(want),
          ),
        inputs.parkedText,
        { timeout: STEP },
      );
      // The picture: the crash line and the parked line in one view.
      await page.keyboard.press("Control+G");
      await page.locator(".quick-input-widget input").waitFor();
      await page.keyboard.type(String(Math.round((inputs.line + inputs.parkedLine) / 2)));
      await page.keyboard.press("Enter");
      await page.waitForTimeout(800);
      await shot(page, "08-core-in-source");

      // The code lens over the crashing function ("1 goroutine in this function") filters the Goroutines view
      // to it. (The lenses of lines scrolled away are hidden widgets: bring the function's into view.)
      await page.keyboard.press("Control+G");
      await page.locator(".quick-input-widget input").waitFor();
      await page.keyboard.type(String(Math.max(1, inputs.line - 4)));
      await page.keyboard.press("Enter");
      const lens = page.locator('.codelens-decoration[monaco-visible-content-widget="true"] a', { hasText: /goroutines?\s+in\s+this\s+function/ }).first();
      const want = inputs.userFunction ?? "main.";
      // Lenses are drawn again after a scroll: a click that lands while one is replaced is lost, so click again.
      for (let attempt = 1; ; attempt++) {
        await lens.waitFor();
        await page.waitForTimeout(500);
        await lens.click();
        try {
          await page.waitForFunction(
            (fn) => {
              const header = [...document.querySelectorAll(".pane-header")].find((h) => /Goroutines/i.test(h.textContent ?? ""));
              return (header?.textContent ?? "").includes(`filter: function ${fn}`);
            },
            want,
            { timeout: 15_000 },
          );
          break;
        } catch (error) {
          if (attempt === 4) {
            throw error;
          }
        }
      }
      const filtered = (await page.locator(".pane-header", { hasText: /Goroutines/i }).first().innerText()).replace(/\s+/g, " ");
      assert.match(filtered, /\b1 of \d+ goroutines\b/, `the Goroutines view shows the function's one goroutine: ${filtered}`);
      await shot(page, "08b-lens-filters-goroutines");

      // The session ends: the marks go with it (nothing pinned).
      await page.keyboard.press("Shift+F5");
      const gone = Date.now() + STEP;
      for (;;) {
        rows = await rowsText();
        if (!rows.some((t) => t.includes(inputs.parkedText))) {
          break;
        }
        assert.ok(Date.now() < gone, `the marks outlived the session:\n${rows.join("\n")}`);
        await page.waitForTimeout(500);
      }
      await shot(page, "09-session-ended");
    } catch (error) {
      await shot(page, "source-failure").catch(() => undefined);
      error.message += `\n--- code-server log (tail) ---\n${vscode.log.join("").split("\n").slice(-30).join("\n")}`;
      throw error;
    }
  });

  test("F5 on a core with many goroutines: the crash line opens first, then the Goroutines view's exact groups", { skip: only !== "tests" }, async (t) => {
    const big = inputs.big;
    assert.ok(big, "GOCORE_E2E_BIG names the many-goroutines core");
    const adapterLog = path.join(os.tmpdir(), `gocore-e2e-big-${process.pid}.log`);
    fs.rmSync(adapterLog, { force: true });
    // The adapter's verbose log records when each request was answered: the order the user saw.
    const vscode = new VSCode("big", { GOCORE_DAP_LOG: adapterLog, GOCORE_DAP_VERBOSE: "1" });
    servers.push(vscode);
    vscode.writeLaunch("Open the big core", big.program, big.core);
    await vscode.start();
    const page = await openWorkbench(browser, vscode);
    try {
      const started = Date.now();
      await startDebugging(page);
      await expectEditorAt(page, "big core", big.source, big.line);
      const lineOpen = Date.now() - started;
      await page.locator(".debug-top-stack-frame, .debug-top-stack-frame-line").first().waitFor();

      // The Goroutines view, with every goroutine counted and grouped exactly by stack.
      const header = page.locator(".pane-header", { hasText: /^\s*Goroutines/i }).first();
      await header.waitFor();
      await page.waitForFunction(
        () => [...document.querySelectorAll(".pane-header")].some((h) => /Goroutines/i.test(h.textContent ?? "") && h.getAttribute("aria-expanded") === "true"),
        undefined,
        { timeout: STEP },
      );
      await foldPanes(page, ["Variables", "Watch", "Breakpoints"]);
      const view = page.locator(".pane", { has: header });
      await page.waitForFunction(
        () => /[\d,]+ goroutines · by stack \(/.test([...document.querySelectorAll(".pane-header")].find((h) => /Goroutines/i.test(h.textContent ?? ""))?.textContent ?? ""),
        undefined,
        { timeout: STEP },
      );
      const viewLoaded = Date.now() - started;
      const headerText = (await header.innerText()).replace(/\s+/g, " ");
      const total = Number((/([\d,]+) goroutines/.exec(headerText)?.[1] ?? "0").replace(/,/g, ""));
      assert.ok(total >= big.goroutines, `the view counts every goroutine (at least ${big.goroutines}): ${headerText}`);
      assert.ok(!headerText.includes("approx"), `the grouping is exact: ${headerText}`);
      const first = view.locator('.monaco-list-row[aria-level="1"]').first();
      await first.waitFor();
      const firstText = (await first.innerText()).replace(/\s+/g, " ");
      assert.match(firstText, /crashed · ×1 · running/, `the first group is the crasher's: ${firstText}`);
      assert.ok(firstText.includes(big.function.replace(/^.*\//, "")), `the first group is ${big.function}'s: ${firstText}`);

      // The goroutines read after the stop join the Call Stack paused, as the crashed one is (not "running").
      // Its list renders only the rows it has room for: fold the Goroutines view below it.
      await foldPanes(page, ["Goroutines"]);
      await page.waitForFunction(() => document.querySelectorAll(".debug-call-stack .monaco-list-row .state").length >= 3, undefined, { timeout: STEP });
      const states = (await page.locator(".debug-call-stack .monaco-list-row .state").allInnerTexts()).map((s) => s.trim().toLowerCase());
      assert.ok(!states.includes("running"), `every thread in the Call Stack is paused: ${states.join(", ")}`);

      // The order of the answers: the crashing thread's stack (the editor's line) before any goroutine listing.
      const logLines = fs.readFileSync(adapterLog, "utf8").split("\n");
      const answered = logLines.map((line) => /request (\w+) \(seq (\d+)\) answered/.exec(line)?.[1]).filter(Boolean);
      // The adapter's share of the wait: from `initialize` received to the crash stack answered.
      const at = (pattern) => {
        const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3})/.exec(logLines.find((l) => pattern.test(l)) ?? "");
        return m ? Date.parse(`${m[1]}T${m[2]}.${m[3]}Z`) : NaN;
      };
      const adapterShare = at(/request stackTrace \(seq \d+\) answered/) - at(/request initialize \(seq \d+\) received/);
      const stack = answered.indexOf("stackTrace");
      const listing = answered.indexOf("goroutines");
      assert.ok(stack >= 0 && listing >= 0, `the adapter's log names both answers: ${answered.join(", ")}`);
      assert.ok(stack < listing, `the crash stack was answered before the first goroutine listing: ${answered.join(", ")}`);
      t.diagnostic(
        `${total} goroutines: crash line open ${lineOpen} ms after F5 (the adapter: ${adapterShare} ms from initialize to the crash stack), Goroutines view grouped at ${viewLoaded} ms`,
      );
      await page.mouse.move(1200, 780);
      await page.waitForTimeout(500);
      await shot(page, "10-big-core");
    } catch (error) {
      await shot(page, "big-failure").catch(() => undefined);
      error.message += `\n--- code-server log (tail) ---\n${vscode.log.join("").split("\n").slice(-30).join("\n")}`;
      throw error;
    } finally {
      if (env.GOCORE_E2E_KEEP !== "1") {
        fs.rmSync(adapterLog, { force: true });
      }
    }
  });

  test("README picture", { skip: only !== "readme" }, async () => {
    const vscode = new VSCode("readme");
    servers.push(vscode);
    vscode.writeLaunch("Open Go core dump", inputs.program, inputs.core);
    await vscode.start();
    const page = await openWorkbench(browser, vscode);
    try {
      await startDebugging(page);
      await readmeShot(page);
    } catch (error) {
      await shot(page, "readme-failure").catch(() => undefined);
      throw error;
    }
  });
});
