// The launch configuration's own logic: what is missing, whether the files fit, how paths map.
// Pure: node's fs through elfCore, no vscode import.
import * as path from "node:path";
import { promises as fs } from "node:fs";
import type { GoCoreLaunchConfig, SubstitutePathRule } from "./goProtocol";
import { ElfInfo, SniffResult, sniffFile } from "./elfCore";

export const DEBUG_TYPE = "go-core";

export type MissingField = "program" | "coreFilePath";

/** Fills what VS Code leaves empty when F5 is pressed without a launch.json. */
export function withDefaults(config: GoCoreLaunchConfig): GoCoreLaunchConfig {
  const out: GoCoreLaunchConfig = { ...config };
  out.type = out.type || DEBUG_TYPE;
  out.request = out.request || "launch";
  out.name = out.name || "Open Go core dump";
  return out;
}

function blank(value: unknown): boolean {
  return typeof value !== "string" || value.trim() === "";
}

/** The fields to ask for, core first: the core names its executable, so it helps pick the program. */
export function missingFields(config: GoCoreLaunchConfig): MissingField[] {
  const missing: MissingField[] = [];
  if (blank(config.coreFilePath)) {
    missing.push("coreFilePath");
  }
  if (blank(config.program)) {
    missing.push("program");
  }
  return missing;
}

export type Severity = "error" | "warning";

export interface Problem {
  severity: Severity;
  field: MissingField | "substitutePath" | "stackTraceDepth" | "maxThreads" | "dlvTimeout" | "dlvPath" | "yourCode";
  message: string;
}

/** The values of the `yourCode` launch attribute (the adapter's goviews.code_scope.YourCode). */
export const YOUR_CODE = ["modules", "mainModule", "nonRuntime"] as const;

/** Checks of the shape of the values, before the files are looked at. */
export function checkShape(config: GoCoreLaunchConfig): Problem[] {
  const problems: Problem[] = [];
  for (const key of ["stackTraceDepth", "maxThreads", "dlvTimeout"] as const) {
    const value = config[key];
    if (value !== undefined && (typeof value !== "number" || !(value > 0))) {
      problems.push({ severity: "error", field: key, message: `"${key}" must be a number greater than 0, not ${JSON.stringify(value)}.` });
    }
  }
  const yourCode = config.yourCode as unknown;
  if (yourCode !== undefined && !(YOUR_CODE as readonly unknown[]).includes(yourCode)) {
    problems.push({
      severity: "error",
      field: "yourCode",
      message: `"yourCode" must be one of ${YOUR_CODE.map((v) => `"${v}"`).join(", ")}, not ${JSON.stringify(yourCode)}.`,
    });
  }
  const rules = config.substitutePath;
  if (rules !== undefined) {
    if (!Array.isArray(rules)) {
      problems.push({ severity: "error", field: "substitutePath", message: '"substitutePath" must be a list of {"from": ..., "to": ...}.' });
    } else {
      rules.forEach((rule: unknown, i) => {
        const r = rule as Partial<SubstitutePathRule> | null;
        if (!r || typeof r.from !== "string" || typeof r.to !== "string") {
          problems.push({
            severity: "error",
            field: "substitutePath",
            message: `"substitutePath[${i}]" must have string "from" (the path in the editor) and "to" (the path in the binary).`,
          });
        }
      });
    }
  }
  return problems;
}

export interface FileFacts {
  program?: SniffResult | "missing" | "directory" | "unreadable";
  core?: SniffResult | "missing" | "directory" | "unreadable";
}

async function factsOf(file: string): Promise<SniffResult | "missing" | "directory" | "unreadable"> {
  try {
    const stat = await fs.stat(file);
    if (stat.isDirectory()) {
      return "directory";
    }
  } catch {
    return "missing";
  }
  try {
    return await sniffFile(file);
  } catch {
    return "unreadable";
  }
}

export async function gatherFacts(config: GoCoreLaunchConfig): Promise<FileFacts> {
  const [program, core] = await Promise.all([
    blank(config.program) ? undefined : factsOf(config.program as string),
    blank(config.coreFilePath) ? undefined : factsOf(config.coreFilePath as string),
  ]);
  return { program, core };
}

function elfOf(fact: FileFacts["program"]): ElfInfo | undefined {
  return typeof fact === "object" && fact.format === "elf" ? fact.info : undefined;
}

/**
 * What is wrong with the files (errors stop the launch; warnings let the user go on). The adapter checks
 * again and better (build IDs, truncation), but these are the mistakes worth catching before Delve starts:
 * a wrong path, the two files swapped, a core of another program.
 */
export function checkFiles(config: GoCoreLaunchConfig, facts: FileFacts): Problem[] {
  const problems: Problem[] = [];
  const program = config.program ?? "";
  const core = config.coreFilePath ?? "";

  switch (facts.core) {
    case undefined:
      break;
    case "missing":
      problems.push({ severity: "error", field: "coreFilePath", message: `The core dump "${core}" does not exist.` });
      break;
    case "directory":
      problems.push({ severity: "error", field: "coreFilePath", message: `The core dump "${core}" is a folder, not a file.` });
      break;
    case "unreadable":
      problems.push({ severity: "error", field: "coreFilePath", message: `The core dump "${core}" cannot be read (permissions?).` });
      break;
    default: {
      const info = elfOf(facts.core);
      if (facts.core.format === "unknown") {
        problems.push({
          severity: "error",
          field: "coreFilePath",
          message: `"${core}" is not a core dump: it is neither an ELF core nor a zstd/lz4/xz/gzip-compressed file.`,
        });
      } else if (info && info.kind !== "core") {
        problems.push({
          severity: "error",
          field: "coreFilePath",
          message:
            info.kind === "executable"
              ? `"${core}" is an executable, not a core dump. Are "program" and "coreFilePath" swapped?`
              : `"${core}" is an ELF ${info.kind}, not a core dump.`,
        });
      }
    }
  }

  switch (facts.program) {
    case undefined:
      break;
    case "missing":
      problems.push({ severity: "error", field: "program", message: `The program "${program}" does not exist.` });
      break;
    case "directory":
      problems.push({
        severity: "error",
        field: "program",
        message: `The program "${program}" is a folder. "program" is the executable that crashed, not its source folder.`,
      });
      break;
    case "unreadable":
      problems.push({ severity: "error", field: "program", message: `The program "${program}" cannot be read (permissions?).` });
      break;
    default: {
      const info = elfOf(facts.program);
      if (!info) {
        problems.push({
          severity: "error",
          field: "program",
          message: `"${program}" is not an ELF executable. "program" is the Go executable that crashed (not its source).`,
        });
      } else if (info.kind === "core") {
        problems.push({
          severity: "error",
          field: "program",
          message: `"${program}" is a core dump, not an executable. Are "program" and "coreFilePath" swapped?`,
        });
      } else if (info.kind !== "executable" && info.kind !== "shared-object") {
        problems.push({ severity: "error", field: "program", message: `"${program}" is an ELF ${info.kind}, not an executable.` });
      }
    }
  }

  const programInfo = elfOf(facts.program);
  const coreInfo = elfOf(facts.core);
  if (programInfo && coreInfo?.core && programInfo.kind !== "core" && problems.length === 0) {
    if (programInfo.machine !== coreInfo.machine || programInfo.bits !== coreInfo.bits) {
      problems.push({
        severity: "error",
        field: "program",
        message: `"${program}" and "${core}" are for different architectures (ELF machine ${programInfo.machine} vs ${coreInfo.machine}).`,
      });
    } else {
      const mismatch = nameMismatch(program, coreInfo.core.processName, coreInfo.core.executablePath);
      if (mismatch) {
        problems.push({ severity: "warning", field: "program", message: mismatch });
      }
    }
  }
  return problems;
}

/** A warning when the core was written by a differently named executable (names can differ legitimately: renamed copies). */
export function nameMismatch(program: string, processName: string | undefined, executablePath: string | undefined): string | undefined {
  const base = path.basename(program);
  const names: string[] = [];
  if (executablePath) {
    names.push(path.basename(executablePath));
  }
  if (processName) {
    names.push(processName);
  }
  if (names.length === 0) {
    return undefined;
  }
  const matches = names.some((n) => n === base || (n.length >= 15 && base.startsWith(n)));
  if (matches) {
    return undefined;
  }
  const who = executablePath ?? processName;
  return `The core was written by "${who}", but "program" is "${program}". A core can only be read with the exact executable that crashed.`;
}

/** The path in the binary (build machine) -> the path in the editor, by the first matching substitutePath rule. */
export function toEditorPath(file: string, rules: readonly SubstitutePathRule[] | undefined): string {
  for (const rule of rules ?? []) {
    if (!rule.to) {
      continue;
    }
    const to = rule.to.replace(/\/+$/, "");
    if (file === to || file.startsWith(to + "/")) {
      return rule.from.replace(/\/+$/, "") + file.slice(to.length);
    }
  }
  return file;
}

/** Relative program/core/dlvPath are relative to the workspace folder (as "cwd" would be). */
export function absolutize(config: GoCoreLaunchConfig, folder: string | undefined): GoCoreLaunchConfig {
  const out: GoCoreLaunchConfig = { ...config };
  const base = folder ?? process.cwd();
  for (const key of ["program", "coreFilePath", "dlvPath"] as const) {
    const value = out[key];
    if (typeof value === "string" && value.trim() !== "") {
      const trimmed = value.trim();
      const home = process.env.HOME;
      const expanded = home && (trimmed === "~" || trimmed.startsWith("~/")) ? path.join(home, trimmed.slice(1)) : trimmed;
      out[key] = path.resolve(base, expanded);
    }
  }
  return out;
}
