// Runs gocore-dap as a child process and relays DAP messages between it and VS Code, as VS Code's own
// DebugAdapterExecutable would, plus two things an executable adapter cannot do:
//   - inject events: selecting a goroutine in the Goroutines view sends VS Code a `stopped` event for that
//     thread, the only way (in VS Code 1.100) to make the Call Stack select a thread and show its top frame;
//   - fail cleanly: when the process dies, pending requests get error responses carrying its stderr and the
//     session ends, instead of VS Code waiting forever.
// Implements vscode.DebugAdapter structurally, so it has no vscode import and is unit-tested with node alone.
import { ChildProcess, spawn, SpawnOptions } from "node:child_process";

export interface DapMessage {
  seq: number;
  type: string;
  [key: string]: unknown;
}

export interface DapRequest extends DapMessage {
  type: "request";
  command: string;
  arguments?: unknown;
}

export interface Disposable {
  dispose(): void;
}

export type Listener<T> = (event: T) => unknown;

/** Parses Content-Length framed DAP messages out of a byte stream. */
export class DapFramer {
  private buffer: Buffer = Buffer.alloc(0);
  private expected = -1;

  constructor(private readonly onMessage: (message: DapMessage) => void, private readonly onError: (error: Error) => void) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.expected < 0) {
        const end = this.buffer.indexOf("\r\n\r\n");
        if (end < 0) {
          return;
        }
        const header = this.buffer.subarray(0, end).toString("ascii");
        this.buffer = this.buffer.subarray(end + 4);
        const match = /(?:^|\r\n)Content-Length:\s*(\d+)/i.exec(header);
        if (!match) {
          this.onError(new Error(`DAP header without Content-Length: ${JSON.stringify(header)}`));
          continue;
        }
        this.expected = Number(match[1]);
      }
      if (this.buffer.length < this.expected) {
        return;
      }
      const body = this.buffer.subarray(0, this.expected).toString("utf8");
      this.buffer = this.buffer.subarray(this.expected);
      this.expected = -1;
      try {
        this.onMessage(JSON.parse(body) as DapMessage);
      } catch (error) {
        this.onError(new Error(`bad JSON from the adapter: ${(error as Error).message}`));
      }
    }
  }
}

export function frame(message: DapMessage): Buffer {
  const body = Buffer.from(JSON.stringify(message), "utf8");
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, "ascii"), body]);
}

export interface ProxyOptions {
  command: string;
  args?: string[];
  spawnOptions?: SpawnOptions;
  /** Every line the adapter writes to stderr (for an output channel). */
  log?: (line: string) => void;
}

const STDERR_TAIL = 20;

export class AdapterProcessProxy implements Disposable {
  private readonly listeners = new Set<Listener<DapMessage>>();
  private readonly pending = new Map<number, string>();
  private readonly stderrTail: string[] = [];
  private readonly child: ChildProcess;
  private readonly framer: DapFramer;
  private outSeq = 0;
  private exited = false;
  private terminatedSent = false;
  private disposed = false;
  private stderrPartial = "";

  constructor(private readonly options: ProxyOptions) {
    this.framer = new DapFramer(
      (message) => this.fromAdapter(message),
      (error) => this.logLine(`gocore-dap proxy: ${error.message}`),
    );
    this.child = spawn(options.command, options.args ?? [], { ...options.spawnOptions, stdio: ["pipe", "pipe", "pipe"] });
    this.child.stdout?.on("data", (chunk: Buffer) => this.framer.push(chunk));
    this.child.stderr?.on("data", (chunk: Buffer) => this.onStderr(chunk));
    this.child.stdin?.on("error", () => undefined); // EPIPE after the child died: reported through "exit"
    this.child.on("error", (error) => this.onExit(null, null, error));
    this.child.on("exit", (code, signal) => this.onExit(code, signal));
  }

  /** vscode.Event<DebugProtocolMessage>. */
  readonly onDidSendMessage = (listener: Listener<DapMessage>, thisArgs?: unknown, disposables?: Disposable[]): Disposable => {
    const bound: Listener<DapMessage> = thisArgs === undefined ? listener : (e) => listener.call(thisArgs, e);
    this.listeners.add(bound);
    const disposable = { dispose: () => this.listeners.delete(bound) };
    disposables?.push(disposable);
    return disposable;
  };

  /** A message from VS Code to the adapter. */
  handleMessage(message: unknown): void {
    const m = message as DapMessage;
    if (m.type === "request") {
      this.pending.set(m.seq, (m as DapRequest).command);
    }
    if (this.exited) {
      this.failPending();
      return;
    }
    this.child.stdin?.write(frame(m));
  }

  /** Sends VS Code an event as if the adapter had. */
  injectEvent(event: string, body: unknown): void {
    this.emit({ seq: 0, type: "event", event, body });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.exited;
  }

  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    this.listeners.clear();
    if (!this.exited) {
      this.child.stdin?.end();
      // Give the adapter a moment to stop Delve itself, then make sure.
      const timer = setTimeout(() => {
        if (!this.exited) {
          this.child.kill("SIGTERM");
        }
      }, 2000);
      timer.unref();
    }
  }

  private emit(message: DapMessage): void {
    // VS Code expects increasing sequence numbers from one source; injected events are interleaved.
    const out: DapMessage = { ...message, seq: ++this.outSeq };
    for (const listener of [...this.listeners]) {
      listener(out);
    }
  }

  private fromAdapter(message: DapMessage): void {
    if (message.type === "response") {
      this.pending.delete(message.request_seq as number);
    } else if (message.type === "event" && message.event === "terminated") {
      this.terminatedSent = true;
    }
    this.emit(message);
  }

  private logLine(line: string): void {
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_TAIL) {
      this.stderrTail.shift();
    }
    this.options.log?.(line);
  }

  private onStderr(chunk: Buffer): void {
    const text = this.stderrPartial + chunk.toString("utf8");
    const lines = text.split(/\r?\n/);
    this.stderrPartial = lines.pop() ?? "";
    for (const line of lines) {
      this.logLine(line);
    }
  }

  private exitReason: string | undefined;

  private onExit(code: number | null, signal: NodeJS.Signals | null, error?: Error): void {
    if (this.exited) {
      return;
    }
    this.exited = true;
    if (this.stderrPartial) {
      this.logLine(this.stderrPartial);
      this.stderrPartial = "";
    }
    const tail = this.stderrTail.filter((l) => l.trim() !== "").join("\n");
    this.exitReason = error
      ? `cannot start ${this.options.command}: ${error.message}`
      : `gocore-dap exited (${signal ? `signal ${signal}` : `code ${code}`})${tail ? `:\n${tail}` : ""}`;
    if (this.disposed) {
      return;
    }
    const unexpected = this.pending.size > 0 || !this.terminatedSent;
    this.failPending();
    if (unexpected && !this.terminatedSent) {
      if (error || code !== 0) {
        this.emit({ seq: 0, type: "event", event: "output", body: { category: "stderr", output: `${this.exitReason}\n` } });
      }
      this.terminatedSent = true;
      this.emit({ seq: 0, type: "event", event: "terminated", body: {} });
    }
  }

  private failPending(): void {
    const entries = [...this.pending.entries()];
    this.pending.clear();
    for (const [requestSeq, command] of entries) {
      this.emit({
        seq: 0,
        type: "response",
        request_seq: requestSeq,
        command,
        success: false,
        message: this.exitReason ?? "gocore-dap is not running",
      });
    }
  }
}
