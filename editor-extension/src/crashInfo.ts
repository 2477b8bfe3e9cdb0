// The crash headline as the status bar and the Goroutines view show it. Pure: no vscode import.
import type { CrashSummaryBody } from "./goProtocol";

export interface CrashHeadline {
  /** One line: "panic: tenant "acme" job 17: quota exceeded". */
  headline: string;
  kind: string;
  /** Markdown with the details that fit a hover. */
  details: string;
  goroutineId?: number;
  /** The goroutine the editor opens when no goroutine crashed (a deadlock, an external signal). */
  landingGoroutineId?: number;
  /** No goroutine crashed: the user goroutines with a frame of the program's own, most telling first. */
  asleepOrder?: number[];
  /** What to know before trusting what is shown (crashSummary `warnings`). */
  warnings: string[];
  /** Where it came from: the adapter's crashSummary, or only the stopped event. */
  source: "crashSummary" | "stoppedEvent";
}

const MAX_STATUS = 80;

export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ⏎ ").trim();
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function statusText(crash: CrashHeadline): string {
  return truncate(oneLine(crash.headline), MAX_STATUS);
}

function escapeMarkdown(text: string): string {
  return text.replace(/([\\`*_{}[\]()#+\-.!|<>~])/g, "\\$1");
}

export function fromCrashSummary(body: CrashSummaryBody): CrashHeadline {
  const lines: string[] = [`**${escapeMarkdown(oneLine(body.headline))}**`, ""];
  if (body.message && body.message !== body.headline) {
    lines.push("```", body.message, "```", "");
  }
  const chain = body.panicChain ?? [];
  if (chain.length > 1) {
    lines.push("Panic chain:");
    for (const entry of chain) {
      lines.push(`- ${escapeMarkdown(entry.value)}${entry.recovered ? " (recovered)" : ""}${entry.goexit ? " (Goexit)" : ""}`);
    }
    lines.push("");
  }
  if (body.signal) {
    lines.push(`Signal: ${escapeMarkdown(body.signal.name)} (${body.signal.number})${body.signal.addr !== undefined ? ` addr ${escapeMarkdown(String(body.signal.addr))}` : ""}`);
  }
  if (body.crashingGoroutineId) {
    lines.push(`Crashing goroutine: ${body.crashingGoroutineId}`);
  } else if (body.crashingThreadId) {
    lines.push(`Crashed on thread ${body.crashingThreadId} (no goroutine)`);
  }
  if (body.landing) {
    const at = body.landing.location;
    const where = `${escapeMarkdown(at.function)} (${escapeMarkdown(baseName(at.file))}:${at.line})`;
    lines.push(body.landing.asleep ? `Most telling asleep goroutine: ${body.landing.goroutineId}, at ${where}` : `In your code at ${where}`);
  }
  const facts: string[] = [];
  if (body.goroutineCount !== undefined) {
    facts.push(`${body.goroutineCount.toLocaleString("en-US")} goroutines`);
  }
  if (body.goVersion) {
    facts.push(escapeMarkdown(body.goVersion));
  }
  const main = body.build?.mainModule;
  if (main?.path) {
    facts.push(`${escapeMarkdown(main.path)}${main.version ? ` ${escapeMarkdown(main.version)}` : ""}`);
  }
  if (body.build?.vcsRevision) {
    facts.push(`rev ${escapeMarkdown(body.build.vcsRevision.slice(0, 12))}${body.build.vcsModified ? " (modified)" : ""}`);
  }
  if (facts.length > 0) {
    lines.push(facts.join(" · "));
  }
  const how = buildFacts(body);
  if (how.length > 0) {
    lines.push(how.join(" · "));
  }
  const warnings = body.warnings ?? [];
  for (const warning of warnings) {
    lines.push(`$(warning) ${escapeMarkdown(oneLine(warning))}`);
  }
  const out: CrashHeadline = {
    headline: body.headline,
    kind: body.kind,
    details: lines.join("\n\n").replace(/\n{3,}/g, "\n\n"),
    warnings,
    source: "crashSummary",
  };
  if (body.crashingGoroutineId) {
    out.goroutineId = body.crashingGoroutineId;
  }
  if (body.landing?.asleep) {
    out.landingGoroutineId = body.landing.goroutineId;
  }
  if (body.asleepOrder) {
    out.asleepOrder = body.asleepOrder;
  }
  return out;
}

/** How the program was built and what read the core: `linux/amd64 · cgo · -trimpath · read by Delve v1.27.2`. */
function buildFacts(body: CrashSummaryBody): string[] {
  const build = body.build;
  const out: string[] = [];
  if (build?.goos && build.goarch) {
    out.push(`${escapeMarkdown(build.goos)}/${escapeMarkdown(build.goarch)}`);
  }
  if (build?.cgo) {
    out.push("cgo");
  }
  if (build?.trimpath) {
    out.push("built with \\-trimpath");
  }
  if (body.delve) {
    out.push(`read by ${escapeMarkdown(/^v\d/.test(body.delve) ? `Delve ${body.delve}` : body.delve)}`);
  }
  if (body.debugInfo) {
    out.push(`debug info: ${escapeMarkdown(body.debugInfo)}`);
  }
  return out;
}

function baseName(file: string): string {
  return file.slice(Math.max(file.lastIndexOf("/"), file.lastIndexOf("\\")) + 1);
}

/** The runtime's crash line in a stopped event's text (`panic: ...`, `fatal error: ...`, `SIGSEGV: ...`). */
function headlineOf(text: string | undefined): string | undefined {
  for (const line of (text ?? "").split("\n")) {
    if (/^(panic: |fatal error: |SIG[A-Z0-9]+: )/.test(line)) {
      return line;
    }
  }
  return undefined;
}

export interface StoppedEventBody {
  reason?: string;
  description?: string;
  text?: string;
  threadId?: number;
  allThreadsStopped?: boolean;
  preserveFocusHint?: boolean;
}

/**
 * The fallback when the adapter has no crashSummary: the runtime's crash line in the stopped event's text (the
 * description is a short badge, `panic` or `SIGSEGV`, for the thread's row), else the description.
 */
export function fromStoppedEvent(body: StoppedEventBody): CrashHeadline | undefined {
  const headline = headlineOf(body.text) || body.description || body.text;
  if (!headline) {
    return undefined;
  }
  const colon = headline.indexOf(":");
  const kind = /^SIG[A-Z0-9]+(:|$)/.test(headline) ? "signal" : colon > 0 ? headline.slice(0, colon) : body.reason ?? "unknown";
  const out: CrashHeadline = {
    headline,
    kind,
    details: `**${escapeMarkdown(oneLine(headline))}**${body.text && body.text !== headline ? `\n\n\`\`\`\n${body.text}\n\`\`\`` : ""}`,
    warnings: [],
    source: "stoppedEvent",
  };
  if (body.threadId !== undefined) {
    out.goroutineId = body.threadId;
  }
  return out;
}

/** The status bar icon for a crash kind. */
export function crashIcon(kind: string): string {
  switch (kind) {
    case "panic":
      return "$(error)";
    case "fatal error":
      return "$(flame)";
    case "signal":
      return "$(zap)";
    default:
      return "$(bug)";
  }
}
