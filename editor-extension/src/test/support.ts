// Shared by the node:test suites: where the real core is, and skip-or-fail when a tool is missing.
import type { TestContext } from "node:test";
import * as fs from "node:fs";
import * as path from "node:path";

export interface Corpus {
  program: string;
  core: string;
}

/** True under CI=true: a missing tool or core is a failure there, not a reason to skip. */
export function strict(): boolean {
  return process.env.CI === "true" || process.env.GOCORE_TEST_STRICT === "1";
}

/** Skips the test (or fails it under CI=true) with a reason; the caller returns right after. */
export function unavailable(t: TestContext, reason: string): void {
  if (strict()) {
    throw new Error(`${reason} (CI=true: missing test inputs fail the run)`);
  }
  t.skip(reason);
}

/** The real corpus core the pytest wrapper built (GOCORE_TEST_PROGRAM / GOCORE_TEST_CORE). */
export function corpus(): Corpus | undefined {
  const program = process.env.GOCORE_TEST_PROGRAM;
  const core = process.env.GOCORE_TEST_CORE;
  if (program && core && fs.existsSync(program) && fs.existsSync(core)) {
    return { program, core };
  }
  return undefined;
}

/** editor-extension/ (tests run from out/test/...). */
export const extensionRoot = path.resolve(__dirname, "..", "..");
export const repoRoot = path.resolve(extensionRoot, "..");
