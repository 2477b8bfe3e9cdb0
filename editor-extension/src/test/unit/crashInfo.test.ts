import { test } from "node:test";
import * as assert from "node:assert/strict";
import { crashIcon, fromCrashSummary, fromStoppedEvent, statusText, truncate } from "../../crashInfo";
import type { CrashSummaryBody } from "../../goProtocol";
import { loadDefinitions, validate } from "../schema";

test("the crash summary gives the headline and a hover with the details", () => {
  const summary: CrashSummaryBody = {
    kind: "panic",
    headline: 'panic: tenant "acme" job 17: quota exceeded',
    message: 'tenant "acme" job 17: quota exceeded',
    crashingGoroutineId: 18,
    crashingThreadId: 4242,
    panicChain: [
      { value: "first", recovered: true, goexit: false },
      { value: 'tenant "acme" job 17: quota exceeded', recovered: false, goexit: false },
    ],
    goVersion: "go1.26.8",
    goroutineCount: 1210,
    build: {
      mainModule: { path: "example.com/app", version: "(devel)" },
      vcsRevision: "0123456789abcdef0123",
      vcsModified: true,
      trimpath: true,
      goos: "linux",
      goarch: "amd64",
      cgo: true,
      settings: {},
    },
    program: "/srv/app/server",
    core: "/var/crash/core",
    delve: "v1.25.2",
    warnings: ["the core is truncated: 12 MiB of 40 MiB were written"],
  };
  const defs = loadDefinitions();
  assert.deepEqual(validate(summary, defs.GoCrashSummary, defs), [], "the canned summary follows go-extensions.json");
  const c = fromCrashSummary(summary);
  assert.equal(c.headline, 'panic: tenant "acme" job 17: quota exceeded');
  assert.equal(c.goroutineId, 18);
  assert.equal(c.source, "crashSummary");
  assert.match(c.details, /Panic chain/);
  assert.match(c.details, /\(recovered\)/);
  assert.match(c.details, /1,210 goroutines · go1\\\.26\\\.8/);
  assert.match(c.details, /rev 0123456789ab \(modified\)/);
  assert.match(c.details, /linux\/amd64 · cgo · built with \\-trimpath · read by Delve v1\\\.25\\\.2/);
  assert.match(c.details, /\$\(warning\) the core is truncated: 12 MiB of 40 MiB were written/);
  assert.deepEqual(c.warnings, ["the core is truncated: 12 MiB of 40 MiB were written"]);
  assert.equal(statusText(c), 'panic: tenant "acme" job 17: quota exceeded');
  assert.equal(crashIcon(c.kind), "$(error)");
});

test("fallback: the stopped event's description is the headline", () => {
  const c = fromStoppedEvent({ reason: "exception", description: "fatal error: concurrent map writes", threadId: 3 });
  assert.ok(c);
  assert.equal(c.kind, "fatal error");
  assert.equal(c.goroutineId, 3);
  assert.equal(c.source, "stoppedEvent");
  assert.equal(fromStoppedEvent({ reason: "exception" }), undefined);
});

test("fallback: with a short badge as the description, the headline comes from the text", () => {
  const c = fromStoppedEvent({
    reason: "exception",
    description: "SIGSEGV",
    text: "SIGSEGV: segmentation violation\nPC=0x4a1d00 m=0 sigcode=1 addr=0x0\nsignal arrived during cgo execution",
    threadId: 1,
  });
  assert.ok(c);
  assert.equal(c.headline, "SIGSEGV: segmentation violation");
  assert.equal(c.kind, "signal");
  const diag = fromStoppedEvent({ description: "fatal error", text: "runtime: oops\nfatal error: all goroutines are asleep - deadlock!" });
  assert.equal(diag?.headline, "fatal error: all goroutines are asleep - deadlock!");
});

test("a deadlock's summary names the asleep goroutine the editor opens, and keeps the order", () => {
  const summary: CrashSummaryBody = {
    kind: "fatal error",
    headline: "fatal error: all goroutines are asleep - deadlock!",
    message: "all goroutines are asleep - deadlock!",
    crashingThreadId: 30424,
    panicChain: [],
    goVersion: "go1.26.8",
    goroutineCount: 10,
    build: { mainModule: { path: "example.com/app", version: "(devel)" }, trimpath: false, settings: {} },
    program: "/srv/app/server",
    core: "/var/crash/core",
    delve: "v1.27.2",
    warnings: [],
    landing: { goroutineId: 1, location: { function: "main.main", file: "/src/app/main.go", line: 53 }, asleep: true },
    asleepOrder: [1, 19, 20],
  };
  const defs = loadDefinitions();
  assert.deepEqual(validate(summary, defs.GoCrashSummary, defs), [], "the canned summary follows go-extensions.json");
  const c = fromCrashSummary(summary);
  assert.equal(c.goroutineId, undefined);
  assert.equal(c.landingGoroutineId, 1);
  assert.deepEqual(c.asleepOrder, [1, 19, 20]);
  assert.match(c.details, /Most telling asleep goroutine: 1, at main\\\.main \(main\\\.go:53\)/);
  assert.deepEqual(c.warnings, []);
  assert.doesNotMatch(c.details, /\$\(warning\)/);
});

test("long and multi-line headlines fit the status bar", () => {
  const c = fromStoppedEvent({ description: `panic: ${"x".repeat(200)}\nsecond line` });
  assert.ok(c);
  const text = statusText(c);
  assert.equal(text.length, 80);
  assert.ok(text.endsWith("…"));
  assert.equal(truncate("abc", 5), "abc");
});
