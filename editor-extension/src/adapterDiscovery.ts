// Where the gocore-dap executable is. Pure: the file system and environment are passed in, no vscode import.
import * as path from "node:path";
import { accessSync, constants, statSync } from "node:fs";
import * as os from "node:os";

export const ADAPTER_NAME = "gocore-dap";
export const ADAPTER_ENV = "GOCORE_DAP_PATH";

export type AdapterSource = "setting" | "environment" | "workspace" | "path" | "user-bin";

export interface AdapterFound {
  found: true;
  path: string;
  source: AdapterSource;
}

export interface AdapterMissing {
  found: false;
  /** One sentence saying what is wrong. */
  problem: string;
  /** What to do about it. */
  fix: string;
  /** Every place that was looked at, in order. */
  searched: string[];
}

export type AdapterLookup = AdapterFound | AdapterMissing;

export interface DiscoveryInput {
  /** The goCore.adapterPath setting ("" when unset). */
  setting?: string;
  env: Record<string, string | undefined>;
  workspaceFolders: string[];
  platform?: NodeJS.Platform;
  homeDir?: string;
  isExecutableFile?: (file: string) => boolean;
}

export function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) {
      return false;
    }
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function expandHome(p: string, home: string): string {
  return p === "~" ? home : p.startsWith("~/") ? path.join(home, p.slice(2)) : p;
}

const INSTALL_FIX =
  "Install it with `pip install gocore-dap` (or `pipx install gocore-dap`; from a source checkout: `scripts/setup.sh`), " +
  "then set `goCore.adapterPath` to the `gocore-dap` executable if it is not on PATH.";

/**
 * The order: the goCore.adapterPath setting, the GOCORE_DAP_PATH environment variable, `.venv/bin/gocore-dap`
 * in each workspace folder, `gocore-dap` on PATH, then ~/.local/bin (where pipx and `pip install --user` put
 * it, often missing from the PATH of an editor started from a desktop menu). An explicit setting or variable
 * that does not point at an executable is an error, not a reason to look elsewhere: silently running some
 * other gocore-dap would hide the mistake.
 */
export function findAdapter(input: DiscoveryInput): AdapterLookup {
  const platform = input.platform ?? process.platform;
  const home = input.homeDir ?? os.homedir();
  const isExec = input.isExecutableFile ?? isExecutableFile;
  const exe = platform === "win32" ? `${ADAPTER_NAME}.exe` : ADAPTER_NAME;
  const searched: string[] = [];

  const setting = input.setting?.trim();
  if (setting) {
    const file = expandHome(setting, home);
    searched.push(`setting goCore.adapterPath: ${file}`);
    if (isExec(file)) {
      return { found: true, path: file, source: "setting" };
    }
    return {
      found: false,
      problem: `The setting goCore.adapterPath is "${setting}", which is not an executable file.`,
      fix: "Correct goCore.adapterPath (or clear it to let the extension look for gocore-dap). " + INSTALL_FIX,
      searched,
    };
  }

  const fromEnv = input.env[ADAPTER_ENV]?.trim();
  if (fromEnv) {
    const file = expandHome(fromEnv, home);
    searched.push(`${ADAPTER_ENV}: ${file}`);
    if (isExec(file)) {
      return { found: true, path: file, source: "environment" };
    }
    return {
      found: false,
      problem: `The environment variable ${ADAPTER_ENV} is "${fromEnv}", which is not an executable file.`,
      fix: `Correct or unset ${ADAPTER_ENV} in the environment that starts the editor, or set goCore.adapterPath.`,
      searched,
    };
  }

  const venvBin = platform === "win32" ? path.join(".venv", "Scripts", exe) : path.join(".venv", "bin", exe);
  for (const folder of input.workspaceFolders) {
    const file = path.join(folder, venvBin);
    searched.push(file);
    if (isExec(file)) {
      return { found: true, path: file, source: "workspace" };
    }
  }

  const pathVar = input.env.PATH ?? input.env.Path ?? "";
  for (const dir of pathVar.split(path.delimiter)) {
    if (!dir) {
      continue;
    }
    const file = path.join(expandHome(dir, home), exe);
    searched.push(file);
    if (isExec(file)) {
      return { found: true, path: file, source: "path" };
    }
  }

  const userBin = path.join(home, ".local", "bin", exe);
  if (!searched.includes(userBin)) {
    searched.push(userBin);
    if (isExec(userBin)) {
      return { found: true, path: userBin, source: "user-bin" };
    }
  }

  return {
    found: false,
    problem: "The gocore-dap debug adapter was not found.",
    fix: INSTALL_FIX,
    searched,
  };
}
