import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { AdapterProcessProxy, DapFramer, DapMessage, frame } from "../../adapterProxy";

const fake = path.join(__dirname, "..", "fixtures", "fakeAdapter.js");

function collect(proxy: AdapterProcessProxy): DapMessage[] {
  const seen: DapMessage[] = [];
  proxy.onDidSendMessage((m) => seen.push(m));
  return seen;
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) {
      throw new Error("timed out");
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("the framer reassembles messages split anywhere, including inside multi-byte characters", () => {
  const got: DapMessage[] = [];
  const errors: Error[] = [];
  const framer = new DapFramer((m) => got.push(m), (e) => errors.push(e));
  const bytes = Buffer.concat([frame({ seq: 1, type: "event", event: "output", body: { output: "héllo ⛔" } }), frame({ seq: 2, type: "event", event: "x" })]);
  for (let i = 0; i < bytes.length; i += 3) {
    framer.push(bytes.subarray(i, i + 3));
  }
  assert.deepEqual(errors, []);
  assert.equal(got.length, 2);
  assert.equal((got[0].body as { output: string }).output, "héllo ⛔");
});

test("relays requests and responses, and injects events with increasing seq", async () => {
  const proxy = new AdapterProcessProxy({ command: process.execPath, args: [fake] });
  const seen = collect(proxy);
  proxy.handleMessage({ seq: 1, type: "request", command: "initialize", arguments: { adapterID: "go-core" } });
  await until(() => seen.length === 1);
  assert.equal(seen[0].type, "response");
  assert.equal(seen[0].request_seq, 1);
  assert.deepEqual(seen[0].body, { echo: { adapterID: "go-core" } });
  proxy.injectEvent("stopped", { reason: "goroutine", threadId: 7 });
  assert.equal(seen[1].event, "stopped");
  assert.ok(seen[1].seq > seen[0].seq);
  proxy.handleMessage({ seq: 2, type: "request", command: "disconnect" });
  await until(() => !proxy.running);
  assert.deepEqual(
    seen.map((m) => m.event ?? m.command),
    ["initialize", "stopped", "disconnect", "terminated"],
  );
  proxy.dispose();
});

test("when the adapter dies, pending requests fail with its stderr and the session ends", async () => {
  const lines: string[] = [];
  const proxy = new AdapterProcessProxy({ command: process.execPath, args: [fake], log: (l) => lines.push(l) });
  const seen = collect(proxy);
  proxy.handleMessage({ seq: 1, type: "request", command: "hang" });
  proxy.handleMessage({ seq: 2, type: "request", command: "die" });
  await until(() => seen.some((m) => m.event === "terminated"));
  const failed = seen.filter((m) => m.type === "response");
  assert.deepEqual(
    failed.map((m) => [m.request_seq, m.success]).sort(),
    [
      [1, false],
      [2, false],
    ],
  );
  assert.match(String(failed[0].message), /exited \(code 3\)[\s\S]*Delve could not read the core/);
  assert.ok(seen.some((m) => m.event === "output"));
  assert.deepEqual(lines, ["fake adapter: Delve could not read the core", "second line"]);
  // Requests after the death are answered at once.
  proxy.handleMessage({ seq: 3, type: "request", command: "threads" });
  assert.equal(seen.at(-1)?.request_seq, 3);
  assert.equal(seen.at(-1)?.success, false);
  proxy.dispose();
});

test("an adapter that cannot be started fails the first request with the reason", async () => {
  const proxy = new AdapterProcessProxy({ command: "/nonexistent/gocore-dap" });
  const seen = collect(proxy);
  proxy.handleMessage({ seq: 1, type: "request", command: "initialize" });
  await until(() => seen.some((m) => m.event === "terminated"));
  const response = seen.find((m) => m.type === "response");
  assert.ok(response);
  assert.equal(response.success, false);
  assert.match(String(response.message), /cannot start \/nonexistent\/gocore-dap: .*ENOENT/);
  proxy.dispose();
});
