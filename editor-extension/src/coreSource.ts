// The crash in the source: what the extension hands the language server (`gocore-dap lsp`) and when it stops
// it. Pure: no vscode import (unit-tested with node --test); coreSourceClient.ts drives vscode-languageclient.
import type { GoCoreLaunchConfig } from "./goProtocol";

/** The language server's commands (workspace/executeCommand). */
export const LSP_OPEN_CORE = "gocore.openCore";
export const LSP_CLOSE_CORE = "gocore.closeCore";
export const LSP_GOROUTINES_IN = "gocore.goroutinesIn";

/** The extension's command a code lens runs: the Goroutines view filtered to the function, or its locations. */
export const SHOW_GOROUTINES_COMMAND = "goCore.source.showGoroutines";

/** The launch attributes the language server reads (the rest of a configuration is the debugger's alone). */
const CORE_ATTRIBUTES = [
  "program",
  "coreFilePath",
  "cwd",
  "dlvPath",
  "dlvToolPath",
  "dlvTimeout",
  "substitutePath",
  "sourceRoot",
  "debugInfoDirectories",
  "symbolFile",
  "yourCode",
  "directReader",
  "name",
] as const;

/** `gocore.openCore`'s argument for a session's (resolved) configuration; undefined without both files. */
export function openCoreArguments(config: GoCoreLaunchConfig, cwd?: string): Record<string, unknown> | undefined {
  if (typeof config.program !== "string" || !config.program.trim() || typeof config.coreFilePath !== "string" || !config.coreFilePath.trim()) {
    return undefined;
  }
  const out: Record<string, unknown> = {};
  for (const key of CORE_ATTRIBUTES) {
    if (config[key] !== undefined && config[key] !== null) {
      out[key] = config[key];
    }
  }
  if (out.cwd === undefined && cwd) {
    out.cwd = cwd;
  }
  return out;
}

/** The server's initializationOptions: the extension opens every core itself (no launch.json guessing). */
export function initializationOptions(): Record<string, unknown> {
  return { autoOpen: false, goroutinesCommand: SHOW_GOROUTINES_COMMAND };
}

/** What a code lens passes to SHOW_GOROUTINES_COMMAND (the server's `gocore.goroutinesIn` argument too). */
export interface LensArguments {
  core: string;
  coreFile: string;
  program: string;
  function: string;
  uri: string;
  lines: number[];
  goroutines: number;
}

export function asLensArguments(value: unknown): LensArguments | undefined {
  if (typeof value !== "object" || value === null) {
    return undefined;
  }
  const v = value as Record<string, unknown>;
  if (typeof v.core !== "string" || typeof v.function !== "string" || typeof v.coreFile !== "string") {
    return undefined;
  }
  return v as unknown as LensArguments;
}

/** The same files: a session's configuration and the core a lens names. */
export function sameCore(config: GoCoreLaunchConfig, lens: Pick<LensArguments, "coreFile" | "program">, resolve: (p: string) => string): boolean {
  return (
    typeof config.coreFilePath === "string" &&
    typeof config.program === "string" &&
    resolve(config.coreFilePath) === resolve(lens.coreFile) &&
    resolve(config.program) === resolve(lens.program)
  );
}

/**
 * Which core each debug session showed in the source, and which ones the user pinned. A session's core goes
 * when the session ends, unless pinned; the server stops when no core is left.
 */
export class CoreSourceState {
  private readonly bySession = new Map<string, string>();
  private readonly pinned = new Set<string>();

  shown(sessionId: string, core: string): void {
    this.bySession.set(sessionId, core);
  }

  coreOf(sessionId: string): string | undefined {
    return this.bySession.get(sessionId);
  }

  pin(core: string): void {
    this.pinned.add(core);
  }

  unpin(core: string): void {
    this.pinned.delete(core);
  }

  isPinned(core: string): boolean {
    return this.pinned.has(core);
  }

  /** A session ended: the core to close (none if pinned, or still shown for another session). */
  sessionEnded(sessionId: string): string | undefined {
    const core = this.bySession.get(sessionId);
    this.bySession.delete(sessionId);
    if (core === undefined || this.pinned.has(core) || [...this.bySession.values()].includes(core)) {
      return undefined;
    }
    return core;
  }

  /** A core closed (by the user, or because its session ended). */
  closed(core: string): void {
    this.pinned.delete(core);
    for (const [session, shown] of [...this.bySession]) {
      if (shown === core) {
        this.bySession.delete(session);
      }
    }
  }

  /** Every core closed at once ("Go: Hide Core from Source"). */
  clear(): void {
    this.bySession.clear();
    this.pinned.clear();
  }

  /** The server has nothing left to show when no session shows a core and none is pinned. */
  empty(openCores: number): boolean {
    return openCores === 0 && this.bySession.size === 0 && this.pinned.size === 0;
  }
}
