// What the extension knows about each go-core debug session: its adapter process (to inject thread focus),
// the adapter's capabilities, the stopped event and the crash headline. Fed by a DebugAdapterTracker, so it
// also works when the adapter runs elsewhere (a debugServer port) and only the proxy features are missing.
import * as vscode from "vscode";
import type { AdapterProcessProxy } from "./adapterProxy";
import { CrashHeadline, fromCrashSummary, fromStoppedEvent, StoppedEventBody } from "./crashInfo";
import { asCrashSummary, GoCoreLaunchConfig, GoGoroutine } from "./goProtocol";
import { DEBUG_TYPE } from "./launchConfig";

/** Set on the stopped events the extension injects, so that the tracker does not take them for the crash. */
export const SELECTION_MARK = "goCoreSelection";

export interface SessionInfo {
  session: vscode.DebugSession;
  proxy?: AdapterProcessProxy;
  capabilities: Record<string, unknown>;
  stopped?: StoppedEventBody;
  /**
   * When no goroutine crashed (a deadlock, an external signal), the adapter follows the stop on the runtime's
   * thread with a second one on the most telling asleep goroutine, which the editor opens: its thread id.
   */
  landingThreadId?: number;
  /** How many (real) stopped events the session had: the views reload when it changes. */
  stops: number;
  /** The stop whose stack the editor last received (it opens the crash line then): equals `stops` once shown. */
  stackShownFor: number;
  crash?: CrashHeadline;
}

interface DapEvent {
  type: "event";
  event: string;
  body?: Record<string, unknown>;
}

interface DapResponse {
  type: "response";
  command: string;
  success: boolean;
  body?: Record<string, unknown>;
}

type TrackedMessage = DapEvent | DapResponse | { type: string };

export class GoCoreSessions implements vscode.Disposable, vscode.DebugAdapterTrackerFactory {
  private readonly infos = new Map<string, SessionInfo>();
  private readonly proxies = new Map<string, AdapterProcessProxy>();
  private readonly changed = new vscode.EventEmitter<SessionInfo | undefined>();
  private readonly disposables: vscode.Disposable[] = [];
  private lastActive: string | undefined;
  /** Who waits for a session's crash stack to reach the editor (`whenStackShown`). */
  private readonly stackWaiters = new Map<string, Array<() => void>>();

  /** Fires when a session stops (or gets its crash summary), and when one ends (undefined). */
  readonly onDidChange = this.changed.event;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.disposables.push(
      this.changed,
      vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, this),
      vscode.debug.onDidTerminateDebugSession((s) => this.forget(s)),
      vscode.debug.onDidChangeActiveDebugSession((s) => {
        if (s?.type === DEBUG_TYPE) {
          this.lastActive = s.id;
          this.changed.fire(this.infos.get(s.id));
        }
      }),
    );
  }

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
  }

  registerProxy(sessionId: string, proxy: AdapterProcessProxy): void {
    this.proxies.set(sessionId, proxy);
    const info = this.infos.get(sessionId);
    if (info) {
      info.proxy = proxy;
    }
  }

  private infoOf(session: vscode.DebugSession): SessionInfo {
    let info = this.infos.get(session.id);
    if (!info) {
      info = { session, capabilities: {}, stops: 0, stackShownFor: 0 };
      const proxy = this.proxies.get(session.id);
      if (proxy) {
        info.proxy = proxy;
      }
      this.infos.set(session.id, info);
    }
    return info;
  }

  private forget(session: vscode.DebugSession): void {
    if (session.type !== DEBUG_TYPE) {
      return;
    }
    this.infos.delete(session.id);
    this.proxies.delete(session.id);
    this.wakeStackWaiters(session.id);
    if (this.lastActive === session.id) {
      this.lastActive = undefined;
    }
    this.changed.fire(undefined);
  }

  /** The go-core session the views show: the active one, else the last one that was active. */
  current(): SessionInfo | undefined {
    const active = vscode.debug.activeDebugSession;
    if (active?.type === DEBUG_TYPE) {
      return this.infoOf(active);
    }
    if (this.lastActive) {
      return this.infos.get(this.lastActive);
    }
    return undefined;
  }

  get(session: vscode.DebugSession): SessionInfo | undefined {
    return this.infos.get(session.id);
  }

  createDebugAdapterTracker(session: vscode.DebugSession): vscode.DebugAdapterTracker {
    const info = this.infoOf(session);
    this.lastActive = session.id;
    return {
      onDidSendMessage: (message: TrackedMessage) => this.onAdapterMessage(info, message),
      onError: (error: Error) => this.log.error(`session ${session.name}: ${error.message}`),
      onExit: (code: number | undefined, signal: string | undefined) => {
        if (code) {
          this.log.warn(`session ${session.name}: gocore-dap exited with code ${code}${signal ? ` (${signal})` : ""}`);
        }
      },
    };
  }

  private onAdapterMessage(info: SessionInfo, message: TrackedMessage): void {
    if (message.type === "response") {
      const response = message as DapResponse;
      if (response.command === "initialize" && response.success) {
        info.capabilities = response.body ?? {};
      }
      if (response.command === "stackTrace" && info.stops > info.stackShownFor) {
        // The first stack after a stop is the one the editor opens: the crash line is on screen now.
        info.stackShownFor = info.stops;
        this.wakeStackWaiters(info.session.id);
      }
      return;
    }
    if (message.type !== "event") {
      return;
    }
    const event = message as DapEvent;
    if (event.event !== "stopped" || !event.body || event.body[SELECTION_MARK]) {
      return;
    }
    const body = event.body as StoppedEventBody;
    if (info.stopped && body.allThreadsStopped === false && body.reason === info.stopped.reason) {
      // The adapter's second stop of the same crash, on the goroutine the editor opens: not a new stop.
      info.landingThreadId = body.threadId;
      this.changed.fire(info);
      return;
    }
    const previous = info.stopped;
    if (previous && body.threadId === previous.threadId && body.text === previous.text && body.description === previous.description) {
      // The same stop sent again: the adapter found more threads (a big core's goroutines, read after the stop).
      return;
    }
    info.stopped = body;
    info.stops++;
    info.crash = fromStoppedEvent(body);
    this.log.info(`session ${info.session.name} stopped: ${body.description ?? body.reason ?? ""}`);
    this.changed.fire(info);
    void this.fetchCrashSummary(info);
  }

  /**
   * Resolves once the editor has the stack of the session's current stop (the crash line is open), or after
   * `timeoutMs`, or when the session ends: the Goroutines view asks for its listing after that, so that on a
   * big core the adapter serves the crash line first.
   */
  whenStackShown(info: SessionInfo, timeoutMs: number): Promise<void> {
    if (info.stackShownFor >= info.stops || !this.infos.has(info.session.id)) {
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const waiters = this.stackWaiters.get(info.session.id) ?? [];
      waiters.push(done);
      this.stackWaiters.set(info.session.id, waiters);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  private wakeStackWaiters(sessionId: string): void {
    const waiters = this.stackWaiters.get(sessionId) ?? [];
    this.stackWaiters.delete(sessionId);
    for (const wake of waiters) {
      wake();
    }
  }

  private async fetchCrashSummary(info: SessionInfo): Promise<void> {
    if (info.capabilities.supportsCrashSummaryRequest === false) {
      return;
    }
    try {
      const summary = asCrashSummary(await info.session.customRequest("crashSummary"));
      if (summary && this.infos.get(info.session.id) === info) {
        info.crash = fromCrashSummary(summary);
        this.changed.fire(info);
      }
    } catch (error) {
      // An adapter without crashSummary: the stopped event's description stays the headline.
      this.log.info(`crashSummary unavailable: ${(error as Error).message}`);
    }
  }

  /**
   * Selects a goroutine's thread in the Call Stack and shows its top user frame: VS Code has no API for that,
   * but it focuses the thread of a `stopped` event (unless preserveFocusHint), so the adapter proxy injects one.
   * The crashing goroutine gets its original event back, which brings the exception widget back too.
   */
  focusThread(info: SessionInfo, goroutine: GoGoroutine): boolean {
    const proxy = info.proxy;
    if (!proxy || !proxy.running) {
      return false;
    }
    const original = info.stopped;
    const body =
      goroutine.crashed && original
        ? { ...original, threadId: goroutine.id, preserveFocusHint: false, allThreadsStopped: false, [SELECTION_MARK]: true }
        : {
            reason: "goroutine",
            description: `Selected: ${goroutine.state}`,
            threadId: goroutine.id,
            preserveFocusHint: false,
            allThreadsStopped: false,
            [SELECTION_MARK]: true,
          };
    proxy.injectEvent("stopped", body);
    return true;
  }

  static configOf(session: vscode.DebugSession): GoCoreLaunchConfig {
    return session.configuration as GoCoreLaunchConfig;
  }
}
