// Protocol tests: Microsoft's DAP test client (@vscode/debugadapter-testsupport's DebugClient) against the
// real gocore-dap on a real core, over stdio and over TCP (--listen).
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { DebugClient } from "@vscode/debugadapter-testsupport";
import type { DebugProtocol } from "@vscode/debugprotocol";
import { findAdapter } from "../../adapterDiscovery";
import { asCrashSummary, asGoroutinesBody } from "../../goProtocol";
import { isRuntimeInternal } from "../../goroutineTree";
import { corpus, Corpus, repoRoot, strict } from "../support";

const TIMEOUT = 60_000;

function adapterPath(): string | undefined {
  const found = findAdapter({ env: process.env, workspaceFolders: [repoRoot] });
  return found.found ? found.path : undefined;
}

/** The first line the Go runtime printed, from the corpus's meta.json next to the core. */
function expectedHeadline(c: Corpus): string | undefined {
  if (process.env.GOCORE_TEST_HEADLINE) {
    return process.env.GOCORE_TEST_HEADLINE;
  }
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(path.dirname(c.core), "meta.json"), "utf8")) as {
      manifest?: { expect?: { message_first_line?: string } };
    };
    return meta.manifest?.expect?.message_first_line;
  } catch {
    return undefined;
  }
}

const adapter = adapterPath();
const c = corpus();
const missing = !adapter ? "gocore-dap not found (GOCORE_DAP_PATH, .venv/bin, PATH)" : !c ? "no corpus core (GOCORE_TEST_PROGRAM/GOCORE_TEST_CORE)" : undefined;
if (missing && strict()) {
  test("protocol test inputs are available", () => {
    assert.fail(`${missing} (CI=true: missing test inputs fail the run)`);
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * DebugClient does not notice an adapter that dies: its requests then wait forever and node:test ends with a
 * cryptic "Promise resolution is still pending". Race every step against the adapter's exit and a deadline.
 */
class Guard {
  private readonly died: Promise<never>;
  constructor(dc: DebugClient, processOverTcp?: ChildProcess) {
    // The process is private in DebugClient; it is there whenever start() spawned one (stdio mode).
    const child = processOverTcp ?? (dc as unknown as { _adapterProcess?: ChildProcess })._adapterProcess;
    this.died = new Promise<never>((_resolve, reject) => {
      child?.once("exit", (code, signal) => reject(new Error(`gocore-dap exited (${signal ?? `code ${code}`}); its stderr is above`)));
    });
    this.died.catch(() => undefined);
  }
  async step<T>(what: string, p: Promise<T>, ms = TIMEOUT): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
    });
    try {
      return await Promise.race([p, this.died, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}

async function startClient(adapterFile: string): Promise<{ dc: DebugClient; guard: Guard }> {
  const dc = new DebugClient(adapterFile, "serve", "go-core", { cwd: repoRoot, env: process.env }, true);
  dc.defaultTimeout = TIMEOUT;
  await dc.start();
  return { dc, guard: new Guard(dc) };
}

async function launchToStop(dc: DebugClient, core: Corpus, guard?: Guard): Promise<DebugProtocol.StoppedEvent> {
  const g = guard ?? { step: <T>(_what: string, p: Promise<T>) => p };
  const init = await g.step("initialize", dc.initializeRequest({
    adapterID: "go-core",
    clientID: "vscode",
    linesStartAt1: true,
    columnsStartAt1: true,
    pathFormat: "path",
    supportsVariableType: true,
    supportsRunInTerminalRequest: false,
  }));
  assert.equal(init.success, true);
  const initialized = dc.waitForEvent("initialized", TIMEOUT);
  const stopped = dc.waitForEvent("stopped", TIMEOUT) as Promise<DebugProtocol.StoppedEvent>;
  const launch = await g.step("launch", dc.launchRequest({ program: core.program, coreFilePath: core.core } as DebugProtocol.LaunchRequestArguments));
  assert.equal(launch.success, true, launch.message);
  await g.step("initialized event", initialized);
  await g.step("configurationDone", dc.configurationDoneRequest());
  return g.step("stopped event", stopped);
}

describe("gocore-dap through DebugClient", { skip: missing && !strict() ? missing : false }, () => {
  let dc: DebugClient;
  let stopped: DebugProtocol.StoppedEvent;
  let capabilities: Record<string, unknown> = {};
  let guard: Guard;
  const ask = <T>(what: string, p: Promise<T>): Promise<T> => guard.step(what, p);

  before(async () => {
    if (!adapter || !c) {
      return;
    }
    const first = await startClient(adapter);
    capabilities = ((await first.guard.step("initialize", first.dc.initializeRequest({ adapterID: "go-core", linesStartAt1: true, columnsStartAt1: true, pathFormat: "path" }))).body ?? {}) as Record<string, unknown>;
    await first.guard.step("disconnect", first.dc.stop(), 10_000);
    const second = await startClient(adapter);
    dc = second.dc;
    guard = second.guard;
    stopped = await launchToStop(dc, c, guard);
  });

  after(async () => {
    if (dc) {
      // stop() sends the disconnect request itself (a second one would get no answer).
      await guard.step("disconnect", dc.stop(), 10_000).catch(() => undefined);
    }
  });

  test("advertises the Go custom requests", () => {
    assert.equal(capabilities.supportsGoroutinesRequest, true);
    assert.equal(capabilities.supportsCrashSummaryRequest, true);
    assert.equal(capabilities.supportsConfigurationDoneRequest, true);
  });

  test("stops once, on an exception: a short badge as the description, the runtime's crash headline in the text", () => {
    assert.equal(stopped.body.reason, "exception");
    assert.equal(typeof stopped.body.threadId, "number");
    // VS Code prints the description as a badge on the thread's row: a word or two, not the message.
    assert.match(stopped.body.description ?? "", /^(panic|fatal error|SIG[A-Z0-9]+)$/);
    const want = c && expectedHeadline(c);
    if (want) {
      assert.ok((stopped.body.text ?? "").split("\n").includes(want), stopped.body.text);
      assert.ok(want.startsWith(stopped.body.description ?? "?"), `${stopped.body.description} for ${want}`);
    }
  });

  test("threads: the crashing goroutine first, named like a traceback header and marked crashed", async () => {
    const threads = (await ask("threads", dc.threadsRequest())).body.threads;
    assert.ok(threads.length >= 2, JSON.stringify(threads));
    assert.equal(threads[0].id, stopped.body.threadId);
    assert.match(threads[0].name, /^goroutine \d+ \[[^\]]+\].*\(crashed\)$/);
    assert.equal(new Set(threads.map((t) => t.id)).size, threads.length, "thread ids are unique");
  });

  test("stackTrace: runtime frames above the first user frame are deemphasized; the first user frame has a source", async () => {
    const response = await ask("stackTrace", dc.stackTraceRequest({ threadId: stopped.body.threadId as number, startFrame: 0, levels: 20 }));
    const frames = response.body.stackFrames;
    assert.ok(frames.length > 0);
    const firstUser = frames.findIndex((f) => f.source?.presentationHint !== "deemphasize");
    assert.ok(firstUser >= 0, "a frame that is not deemphasized");
    for (const f of frames.slice(0, firstUser)) {
      assert.ok(isRuntimeInternal(f.name.replace(/^.*?\s/, "")) || /runtime|panic/.test(f.name), `deemphasized frame ${f.name} is the runtime's`);
    }
    const top = frames[firstUser];
    assert.ok(!isRuntimeInternal(top.name), top.name);
    assert.ok(top.source?.path, "the first user frame has a source path");
    assert.ok(fs.existsSync(top.source.path), `${top.source.path} exists`);
    assert.ok(top.line > 0);
    // VS Code opens this line: it must be the line of the panic in the program's source.
    const line = fs.readFileSync(top.source.path, "utf8").split("\n")[top.line - 1] ?? "";
    assert.match(line, /panic\(|\bnil\b|\[|\.|=/, `line ${top.line}: ${line}`);
  });

  test("goroutines (grouped by stack): the crasher's group first, counts add up", async () => {
    const raw = (await ask("goroutines", dc.customRequest("goroutines", { groupBy: "stack", start: 0, count: 100 }))).body as unknown;
    const body = asGoroutinesBody(raw);
    assert.ok(body.crashing, "crashing goroutine present");
    assert.equal(body.crashing.id, stopped.body.threadId);
    assert.equal(body.crashing.crashed, true);
    const groups = body.groups ?? [];
    assert.ok(groups.length >= 2);
    assert.equal(groups[0].containsCrashing, true);
    assert.equal(groups.filter((g) => g.containsCrashing).length, 1);
    assert.equal(
      groups.reduce((n, g) => n + g.count, 0),
      body.total,
    );
    for (const g of groups) {
      assert.equal(
        Object.values(g.states).reduce((a, b) => a + b, 0),
        g.statesSampled ?? g.count,
        `states of ${g.key} add up`,
      );
    }
  });

  test("goroutines: members of a group, ungrouped paging and a state filter", async () => {
    const grouped = asGoroutinesBody((await ask("goroutines", dc.customRequest("goroutines", { groupBy: "stack" }))).body);
    const crashGroup = (grouped.groups ?? [])[0];
    const members = asGoroutinesBody((await ask("goroutines", dc.customRequest("goroutines", { groupBy: "stack", group: crashGroup.key }))).body);
    assert.ok((members.goroutines ?? []).some((g) => g.id === stopped.body.threadId));

    const page = asGoroutinesBody((await ask("goroutines", dc.customRequest("goroutines", { start: 0, count: 1 }))).body);
    assert.equal((page.goroutines ?? []).length, 1);
    assert.equal(page.goroutines?.[0].id, stopped.body.threadId, "page 0 starts with the crasher");
    assert.ok(page.total >= 2);

    const running = asGoroutinesBody((await ask("goroutines", dc.customRequest("goroutines", { filter: { states: ["running"] } }))).body);
    for (const g of running.goroutines ?? []) {
      assert.equal(g.state, "running");
    }
    assert.ok(running.total <= page.total);
    assert.equal(running.crashing?.id, stopped.body.threadId, "crashing is there whatever the filter");
  });

  test("crashSummary agrees with the stopped event", async () => {
    const summary = asCrashSummary((await ask("crashSummary", dc.customRequest("crashSummary"))).body);
    assert.ok(summary);
    assert.ok((stopped.body.text ?? "").split("\n").includes(summary.headline), stopped.body.text);
    assert.ok(summary.headline.startsWith(stopped.body.description ?? "?"));
    assert.equal(summary.crashingGoroutineId, stopped.body.threadId);
    assert.ok(["panic", "fatal error", "signal", "unknown"].includes(summary.kind));
  });
});

describe("gocore-dap --listen (TCP) through DebugClient", { skip: missing && !strict() ? missing : false }, () => {
  let server: ChildProcess | undefined;
  let dc: DebugClient | undefined;
  let guard: Guard | undefined;

  after(async () => {
    if (dc && guard) {
      // stop() sends the disconnect request itself (a second one would get no answer).
      await guard.step("disconnect", dc.stop(), 10_000).catch(() => undefined);
    }
    server?.kill();
  });

  test("serves a session over TCP and stops on the crash", async () => {
    if (!adapter || !c) {
      return;
    }
    const port = await freePort();
    server = spawn(adapter, ["--listen", `127.0.0.1:${port}`], { cwd: repoRoot, stdio: ["ignore", "ignore", "inherit"] });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, "127.0.0.1", () => {
          s.destroy();
          resolve(true);
        });
        s.on("error", () => resolve(false));
      });
      if (ok) {
        break;
      }
      if (server.exitCode !== null) {
        assert.fail(`gocore-dap --listen exited with code ${server.exitCode} (stderr above)`);
      }
      if (Date.now() > deadline) {
        assert.fail(`gocore-dap --listen 127.0.0.1:${port} did not accept connections`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // The probe connection above may count as the one client of a single-client server: reconnect fresh.
    dc = new DebugClient("unused", "unused", "go-core");
    dc.defaultTimeout = TIMEOUT;
    await dc.start(port);
    guard = new Guard(dc, server);
    const stopped = await launchToStop(dc, c, guard);
    assert.equal(stopped.body.reason, "exception");
  });
});
