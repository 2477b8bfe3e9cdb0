import { test } from "node:test";
import * as assert from "node:assert/strict";
import type { GoGoroutine, GoGoroutineGroup, GoroutinesResponseBody } from "../../goProtocol";
import { asGoroutinesBody } from "../../goProtocol";
import {
  GoroutineTreeModel,
  GroupNode,
  isRuntimeInternal,
  isValidGroupBy,
  shortFunction,
  stackText,
  stateFamily,
  stateIcon,
  statesSummary,
} from "../../goroutineTree";
import { loadDefinitions, partOf, validate } from "../schema";

const defs = loadDefinitions();
const bodySchema = partOf(defs, "GoroutinesResponse", "body");
const argsSchema = defs.GoroutinesArguments;

/** A full body as the schema requires it (every key present). */
function body(partial: Partial<GoroutinesResponseBody> & Pick<GoroutinesResponseBody, "total" | "totalUnfiltered" | "crashing">): GoroutinesResponseBody {
  return { goroutines: [], groups: [], totalGroups: 0, approximate: false, ...partial };
}

function g(id: number, state: string, fn: string, extra: Partial<GoGoroutine> = {}): GoGoroutine {
  const loc = { function: fn, file: `/src/app/${fn.split(".")[0]}.go`, line: 10 + id };
  return {
    id,
    state,
    userLocation: loc,
    currentLocation: loc,
    startFunction: fn,
    labels: {},
    crashed: false,
    system: false,
    ...extra,
  };
}

const crasher = g(18, "running", "main.worker", { crashed: true, threadId: 4242 });
const waiter = g(7, "chan receive", "main.consumer", { waitMinutes: 5, labels: { tenant: "acme" } });

function group(key: string, count: number, rep: GoGoroutine, states: Record<string, number>, containsCrashing = false): GoGoroutineGroup {
  return {
    key,
    label: rep.userLocation.function,
    count,
    states,
    representative: rep,
    stack: [
      { function: "runtime.gopark", file: "/go/src/runtime/proc.go", line: 435 },
      rep.userLocation,
      { function: "main.main.gowrap1", file: "/src/app/main.go", line: 40 },
    ],
    memberIds: [rep.id],
    containsCrashing,
  };
}

// A canned body as gocore-dap documents it (docs/custom-requests.md): the crasher's group is NOT first
// here, to check that the view puts it first whatever the adapter does.
const grouped: GoroutinesResponseBody = body({
  total: 1203,
  totalUnfiltered: 1210,
  crashing: crasher,
  groups: [group("k-consumer", 1200, waiter, { "chan receive": 1199, select: 1 }), group("k-worker", 1, crasher, { running: 1 }, true), group("k-sleep", 2, g(1, "sleep", "main.main"), { sleep: 2 })],
  totalGroups: 250,
});

test("the canned bodies follow the adapter's schema (go-extensions.json), and so do the view's requests", () => {
  assert.deepEqual(validate(grouped, bodySchema, defs), []);
  const model = new GoroutineTreeModel({ groupBy: "label:tenant", pageSize: 50, filter: { states: ["select"], text: "x", userOnly: true } });
  assert.deepEqual(validate(model.rootRequest(), argsSchema, defs), []);
  model.acceptRoot(grouped, 0);
  assert.deepEqual(validate(model.memberRequest(model.rootChildren()[0] as GroupNode), argsSchema, defs), []);
  // The validator does catch mistakes.
  assert.notDeepEqual(validate({ ...grouped, extra: 1 }, bodySchema, defs), []);
  assert.notDeepEqual(validate({ groupBy: "stack", bogus: true }, argsSchema, defs), []);
});

test("the canned body passes the shape check; a bad one does not", () => {
  assert.doesNotThrow(() => asGoroutinesBody(grouped));
  assert.throws(() => asGoroutinesBody({}), /total/);
  assert.throws(() => asGoroutinesBody({ total: 1, goroutines: [{ id: "x" }] }), /malformed goroutine/);
});

test("grouped: buckets with counts, the crasher's bucket first, highlighted and expanded, then Load more", () => {
  const model = new GoroutineTreeModel({ groupBy: "stack", pageSize: 3 });
  assert.deepEqual(model.rootRequest(), { start: 0, count: 3, groupBy: "stack", memberCount: 0 });
  model.acceptRoot(grouped, 0);
  const root = model.rootChildren();
  assert.deepEqual(
    root.map((n) => n.kind),
    ["group", "group", "group", "loadMore"],
  );
  const first = root[0] as GroupNode;
  assert.equal(first.group.key, "k-worker");
  const v = model.view(first);
  assert.equal(v.highlight, true);
  assert.equal(v.collapsible, "expanded");
  assert.deepEqual(v.icon, { id: "error", color: "errorForeground" });
  assert.match(v.description ?? "", /^crashed · ×1 · running/);
  const big = model.view(root[1]);
  assert.equal(big.label, "main.consumer");
  assert.match(big.description ?? "", /×1,200 · chan receive 1,199 · select 1/);
  assert.equal(big.collapsible, "collapsed");
  assert.equal(big.icon.id, "arrow-swap");
  assert.match(big.tooltip, /1,200 goroutines/);
  assert.match(big.tooltip, /runtime\.gopark/);
  const more = model.view(root[3]);
  assert.equal(more.label, "Load more…");
  assert.match(more.description ?? "", /247 more groups/);
  assert.equal(model.crashingNode(), first);
  assert.equal(model.summary(), "1,203 of 1,210 goroutines · by stack (250 groups)");
});

test("paging: Load more appends the next page and moves the Load more item", () => {
  const model = new GoroutineTreeModel({ groupBy: "stack", pageSize: 3 });
  model.acceptRoot(grouped, 0);
  assert.equal(model.rootRequest().start, 3);
  const page2 = { ...grouped, groups: [group("k-4", 1, g(90, "select", "main.loop"), { select: 1 })] };
  assert.deepEqual(validate(page2, bodySchema, defs), []);
  model.acceptRoot(page2, 3);
  const root = model.rootChildren();
  assert.deepEqual(
    root.map((n) => n.kind),
    ["group", "group", "group", "group", "loadMore"],
  );
  assert.equal(model.view(root[4]).description, "246 more groups");
  // Unique ids (VS Code rejects duplicates).
  assert.equal(new Set(root.map((n) => n.id)).size, root.length);
});

test("the runtime's own groups are folded into one Go runtime node after the user's, named by start function", () => {
  const gc = g(2, "force gc (idle)", "runtime.gopark", { system: true, startFunction: "runtime.forcegchelper" });
  const fin = g(5, "finalizer wait", "runtime.gopark", { system: true, startFunction: "runtime.runFinalizers" });
  const page = body({
    total: 5,
    totalUnfiltered: 5,
    crashing: crasher,
    groups: [group("k-worker", 1, crasher, { running: 1 }, true), group("k-gc", 1, gc, { "force gc (idle)": 1 }), group("k-fin", 1, fin, { "finalizer wait": 1 }), group("k-sleep", 2, g(1, "sleep", "main.main"), { sleep: 2 })],
    totalGroups: 4,
  });
  assert.deepEqual(validate(page, bodySchema, defs), []);
  const model = new GoroutineTreeModel({ groupBy: "stack", pageSize: 100 });
  model.acceptRoot(page, 0);
  const root = model.rootChildren();
  assert.deepEqual(
    root.map((n) => n.kind),
    ["group", "group", "runtime"],
  );
  assert.equal((root[1] as GroupNode).group.key, "k-sleep");
  const folder = model.view(root[2]);
  assert.equal(folder.label, "Go runtime");
  assert.equal(folder.description, "2 goroutines · 2 groups");
  assert.equal(folder.collapsible, "collapsed");
  const inner = model.children(root[2]) ?? [];
  assert.deepEqual(
    inner.map((n) => model.view(n).label),
    ["runtime.forcegchelper", "runtime.runFinalizers"],
  );
  assert.equal(model.parent(inner[0]), root[2]);
  const stack = (inner[0] as GroupNode).stack;
  assert.equal(model.parent(stack), inner[0], "the stack's parent is the folded group");
  assert.equal(model.rootRequest().start, 4, "paging counts groups, not tree nodes");
  assert.match(model.summary(), /5 goroutines · by stack \(4 groups\)/);
});

test("a group without a representative (the schema allows it) still renders", () => {
  const model = new GoroutineTreeModel({ groupBy: "waitReason", pageSize: 10 });
  const bare: GoGoroutineGroup = { key: "select", label: "select", count: 3, states: { select: 3 }, stack: [], memberIds: [1, 2, 3], containsCrashing: false };
  model.acceptRoot(body({ total: 3, totalUnfiltered: 3, crashing: null, groups: [bare], totalGroups: 1 }), 0);
  const v = model.view(model.rootChildren()[0]);
  assert.equal(v.label, "select");
  assert.equal(v.icon.id, "list-selection");
  assert.match(stackText(bare), /^3 goroutines \[select\]:/);
});

test("a group's children: its stack, then its members (paged), crasher first", () => {
  const model = new GoroutineTreeModel({ groupBy: "stack", pageSize: 2 });
  model.acceptRoot(grouped, 0);
  const consumer = model.rootChildren()[1] as GroupNode;
  assert.equal(model.children(consumer), undefined, "members are fetched on expand");
  assert.deepEqual(model.memberRequest(consumer), { start: 0, count: 2, groupBy: "stack", group: "k-consumer" });
  // As gocore-dap answers a `group` request: `total` is every goroutine matching the filter, the group's
  // size is the count of the one group in `groups`.
  const members = body({ total: 1203, totalUnfiltered: 1210, crashing: crasher, goroutines: [waiter, g(8, "select", "main.consumer")], groups: [grouped.groups![0]], totalGroups: 250 });
  assert.deepEqual(validate(members, bodySchema, defs), []);
  model.acceptMembers(consumer, members, 0);
  const kids = model.children(consumer) ?? [];
  assert.deepEqual(
    kids.map((n) => n.kind),
    ["stack", "goroutine", "goroutine", "loadMore"],
  );
  const member = model.view(kids[1]);
  assert.equal(member.label, "goroutine 7");
  assert.equal(member.description, "chan receive, 5 minutes · tenant=acme");
  assert.equal(member.collapsible, "none");
  assert.equal(model.parent(kids[1]), consumer);
  const frames = model.children(kids[0]) ?? [];
  assert.equal(frames.length, 3);
  assert.equal(model.view(frames[0]).description, "proc.go:435 · runtime");
  assert.equal(model.view(frames[1]).icon.id, "debug-stackframe");
  assert.equal(model.view(kids[3]).description, "1,198 more goroutines");

  // A group of one has no Load more, whatever `total` says.
  const worker = model.rootChildren()[0] as GroupNode;
  model.acceptMembers(worker, body({ total: 1203, totalUnfiltered: 1210, crashing: crasher, goroutines: [crasher], groups: [grouped.groups![1]], totalGroups: 250 }), 0);
  assert.deepEqual(
    (model.children(worker) ?? []).map((n) => n.kind),
    ["stack", "goroutine"],
  );
});

test("ungrouped: a flat page, crasher first with its location", () => {
  const model = new GoroutineTreeModel({ groupBy: "none", pageSize: 100 });
  const rq = model.rootRequest();
  assert.equal(rq.memberCount, undefined);
  model.acceptRoot(body({ total: 2, totalUnfiltered: 2, crashing: crasher, goroutines: [waiter, crasher] }), 0);
  const root = model.rootChildren();
  assert.equal(root.length, 2);
  const v = model.view(root[0]);
  assert.equal(v.label, "18  main.worker");
  assert.equal(v.description, "crashed · running · main.go:28");
  assert.equal(v.highlight, true);
});

test("a goroutine waiting in a library call says so after its place in the program's code", () => {
  const locker = g(20, "sync.Mutex.Lock", "main.locker", { waitingIn: "sync.(*Mutex).Lock" });
  assert.deepEqual(validate(body({ total: 1, totalUnfiltered: 1, crashing: null, goroutines: [locker] }), bodySchema, defs), []);
  const model = new GoroutineTreeModel({ groupBy: "none", pageSize: 100 });
  model.acceptRoot(body({ total: 1, totalUnfiltered: 1, crashing: null, goroutines: [locker] }), 0);
  const v = model.view(model.rootChildren()[0]);
  assert.equal(v.label, "20  main.locker");
  assert.equal(v.description, "sync.Mutex.Lock · main.go:30 · in sync.(*Mutex).Lock");
  assert.match(v.tooltip, /- at `main\.locker` `\/src\/app\/main\.go:30` · in `sync\.\(\*Mutex\)\.Lock`/);
  // In a stack group the group's label already carries the place and the call.
  const grouped = new GoroutineTreeModel({ groupBy: "stack", pageSize: 100 });
  grouped.acceptRoot(body({ total: 1, totalUnfiltered: 1, crashing: null, groups: [group("k", 1, locker, { "sync.Mutex.Lock": 1 })], totalGroups: 1 }), 0);
  const node = grouped.rootChildren()[0] as GroupNode;
  grouped.acceptMembers(node, body({ total: 1, totalUnfiltered: 1, crashing: null, goroutines: [locker] }), 0);
  const member = grouped.children(node)!.find((n) => n.kind === "goroutine")!;
  assert.equal(grouped.view(member).description, "sync.Mutex.Lock");
});

test("no goroutine crashed: the asleep goroutine the editor opened has its group expanded and revealed", () => {
  const main = g(1, "chan receive", "main.main");
  const flusher = g(20, "sync.Mutex.Lock", "main.flusher", { waitingIn: "sync.(*Mutex).Lock" });
  const gc = g(2, "force gc (idle)", "runtime.forcegchelper", { system: true });
  // The adapter lists the asleep user goroutines first when nothing crashed (crashSummary asleepOrder).
  const deadlock = body({
    total: 3,
    totalUnfiltered: 3,
    crashing: null,
    groups: [group("k-main", 1, main, { "chan receive": 1 }), group("k-flusher", 1, flusher, { "sync.Mutex.Lock": 1 }), group("k-gc", 1, gc, { "force gc (idle)": 1 })],
    totalGroups: 3,
  });
  const model = new GoroutineTreeModel({ groupBy: "stack", pageSize: 100 });
  model.acceptRoot(deadlock, 0);
  assert.equal(model.crashingNode(), undefined);
  // Before the second stop names the goroutine: the first of the program's groups.
  assert.equal((model.landingNode() as GroupNode).group.key, "k-main");
  model.landingGoroutineId = 20;
  const landing = model.landingNode() as GroupNode;
  assert.equal(landing.group.key, "k-flusher");
  assert.equal(model.view(landing).collapsible, "expanded");
  assert.equal(model.view(landing).highlight, false);
  assert.equal(model.view(model.rootChildren()[0]).collapsible, "collapsed");
  // With a crash there is no asleep landing.
  const crashed = new GoroutineTreeModel({ groupBy: "stack", pageSize: 100 });
  crashed.acceptRoot(grouped, 0);
  crashed.landingGoroutineId = 7;
  assert.equal(crashed.landingNode(), undefined);
});

test("a filter that hides the crasher still shows it, pinned", () => {
  const model = new GoroutineTreeModel({ groupBy: "stack", pageSize: 100, filter: { states: ["chan receive"] } });
  assert.deepEqual(model.rootRequest().filter, { states: ["chan receive"] });
  model.acceptRoot(body({ total: 1200, totalUnfiltered: 1210, crashing: crasher, groups: [grouped.groups![0]], totalGroups: 1 }), 0);
  const root = model.rootChildren();
  assert.equal(root[0].kind, "goroutine");
  assert.match(model.view(root[0]).description ?? "", /hidden by the filter/);
  assert.match(model.summary(), /filter: state chan receive/);
});

test("nothing matches: a message instead of an empty tree", () => {
  const model = new GoroutineTreeModel({ groupBy: "none", pageSize: 100, filter: { text: "zzz" } });
  model.acceptRoot(body({ total: 0, totalUnfiltered: 5, crashing: null }), 0);
  const root = model.rootChildren();
  assert.equal(root.length, 1);
  assert.equal(root[0].kind, "message");
  assert.equal(model.view(root[0]).label, "No goroutine matches the filter.");
});

test("100,000 goroutines: only one page of nodes is built", () => {
  const model = new GoroutineTreeModel({ groupBy: "none", pageSize: 100 });
  const page = Array.from({ length: 100 }, (_, i) => g(i + 1, "select", "main.handler"));
  const started = process.hrtime.bigint();
  model.acceptRoot(body({ total: 100000, totalUnfiltered: 100000, crashing: null, goroutines: page }), 0);
  for (const node of model.rootChildren()) {
    model.view(node);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.equal(model.rootChildren().length, 101);
  assert.ok(ms < 200, `${ms} ms`);
  assert.equal(model.view(model.rootChildren()[100]).description, "99,900 more goroutines");
});

test("reset gives new ids, so VS Code does not carry expansion state across groupings", () => {
  const model = new GoroutineTreeModel({ groupBy: "stack", pageSize: 10 });
  model.acceptRoot(grouped, 0);
  const before = model.rootChildren()[0].id;
  model.reset();
  model.acceptRoot(grouped, 0);
  assert.notEqual(model.rootChildren()[0].id, before);
});

test("state families and icons", () => {
  assert.equal(stateFamily("running"), "running");
  assert.equal(stateFamily("IO wait"), "io");
  assert.equal(stateFamily("chan send (nil chan)"), "channel");
  assert.equal(stateFamily("select (no cases)"), "select");
  assert.equal(stateFamily("sync.RWMutex.RLock"), "lock");
  assert.equal(stateFamily("semacquire"), "lock");
  assert.equal(stateFamily("GC worker (idle)"), "runtime");
  assert.equal(stateFamily("finalizer wait"), "runtime");
  assert.equal(stateFamily("syscall"), "syscall");
  assert.equal(stateFamily("sleep"), "sleep");
  assert.equal(stateFamily("something new"), "other");
  assert.equal(stateIcon("sleep", true).id, "error");
});

test("names and summaries", () => {
  assert.equal(shortFunction("github.com/acme/app/internal/pool.(*Pool).worker"), "pool.(*Pool).worker");
  assert.equal(shortFunction("main.main.func1"), "main.main.func1");
  assert.equal(shortFunction("gopkg.in/yaml.v3.(*decoder).unmarshal"), "yaml.v3.(*decoder).unmarshal");
  assert.ok(isRuntimeInternal("runtime.gopark"));
  assert.ok(isRuntimeInternal("internal/runtime/syscall.Syscall6"));
  assert.ok(!isRuntimeInternal("time.Sleep"));
  assert.ok(!isRuntimeInternal("sync.(*Mutex).Lock"));
  assert.equal(statesSummary({ select: 1 }), "select");
  assert.equal(statesSummary({ a: 1, b: 3 }), "b 3 · a 1");
  assert.match(stackText(grouped.groups![0]), /^1200 goroutines \[chan receive 1,199 · select 1\]:\nruntime\.gopark\(\.\.\.\)\n\t\/go\/src\/runtime\/proc\.go:435/);
});

test("grouped by wait object: a group per channel or lock, its members placed in your code; a Delve listing says why", () => {
  assert.ok(isValidGroupBy("waitObject") && !isValidGroupBy("waitobject"));
  const locker = g(20, "sync.Mutex.Lock", "main.locker", { waitingIn: "sync.(*Mutex).Lock" });
  const mutex: GoGoroutineGroup = {
    ...group("waitObject:lock:0xc000012345", 4, locker, { "sync.Mutex.Lock": 4 }),
    label: "lock sync.Mutex 0xc000012345 · d.mu in main.(*dispatcher).run",
  };
  const answer = body({ total: 4, totalUnfiltered: 4, crashing: null, groups: [mutex], totalGroups: 1 });
  assert.deepEqual(validate(answer, bodySchema, defs), []);
  const model = new GoroutineTreeModel({ groupBy: "waitObject", pageSize: 100 });
  assert.deepEqual(validate(model.rootRequest(), argsSchema, defs), []);
  model.acceptRoot(answer, 0);
  const node = model.rootChildren()[0] as GroupNode;
  assert.equal(model.view(node).label, "lock sync.Mutex 0xc000012345 · d.mu in main.(*dispatcher).run");
  assert.equal(model.note, undefined);
  assert.match(model.summary(), /by wait object \(1 group\)/);
  model.acceptMembers(node, body({ total: 4, totalUnfiltered: 4, crashing: null, goroutines: [locker] }), 0);
  const member = model.children(node)!.find((n) => n.kind === "goroutine")!;
  // Goroutines on one lock wait in different places: each says where.
  assert.equal(model.view(member).description, "sync.Mutex.Lock · main.go:30 · in sync.(*Mutex).Lock");

  const throughDelve = body({ total: 4, totalUnfiltered: 4, crashing: null, goroutines: [locker], note: "listed through Delve: the direct reader reads amd64 cores only" });
  assert.deepEqual(validate(throughDelve, bodySchema, defs), []);
  const flat = new GoroutineTreeModel({ groupBy: "none", pageSize: 100 });
  flat.acceptRoot(throughDelve, 0);
  assert.equal(flat.note, "listed through Delve: the direct reader reads amd64 cores only");
  flat.reset();
  assert.equal(flat.note, undefined);
});
