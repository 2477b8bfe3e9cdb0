// A small JSON-schema check for the canned bodies of the unit tests, against the adapter's own schema of
// its Go extensions (adapter/gocore_dap/protocol/go-extensions.json): the keywords that file uses ($ref,
// allOf, oneOf, type, required, properties, additionalProperties, items, enum, minimum). It keeps the
// canned data honest: a body the real adapter could not send fails here.
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "./support";

type Schema = {
  $ref?: string;
  allOf?: Schema[];
  oneOf?: Schema[];
  type?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  enum?: unknown[];
  minimum?: number;
};

export const SCHEMA_FILE = path.join(repoRoot, "adapter", "gocore_dap", "protocol", "go-extensions.json");

export function loadDefinitions(): Record<string, Schema> {
  return (JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8")) as { definitions: Record<string, Schema> }).definitions;
}

function typeOf(value: unknown): string {
  if (value === null) {
    return "null";
  }
  if (Array.isArray(value)) {
    return "array";
  }
  if (typeof value === "number") {
    return Number.isInteger(value) ? "integer" : "number";
  }
  return typeof value;
}

/** Problems of `value` against `schema` ([] when it conforms). */
export function validate(value: unknown, schema: Schema, defs: Record<string, Schema>, at = "$"): string[] {
  if (schema.$ref) {
    const name = schema.$ref.replace("#/definitions/", "");
    const target = defs[name];
    return target ? validate(value, target, defs, at) : [`${at}: unknown $ref ${schema.$ref}`];
  }
  const problems: string[] = [];
  for (const part of schema.allOf ?? []) {
    problems.push(...validate(value, part, defs, at));
  }
  if (schema.oneOf) {
    const ok = schema.oneOf.filter((s) => validate(value, s, defs, at).length === 0).length;
    if (ok !== 1) {
      problems.push(`${at}: matches ${ok} of the oneOf alternatives`);
    }
  }
  if (schema.type) {
    const t = typeOf(value);
    if (!(t === schema.type || (schema.type === "number" && t === "integer"))) {
      return [...problems, `${at}: ${t}, not ${schema.type}`];
    }
  }
  if (schema.enum && !schema.enum.includes(value)) {
    problems.push(`${at}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`);
  }
  if (schema.minimum !== undefined && typeof value === "number" && value < schema.minimum) {
    problems.push(`${at}: ${value} < ${schema.minimum}`);
  }
  if (typeOf(value) === "object") {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? []) {
      if (!(key in obj)) {
        problems.push(`${at}: missing required "${key}"`);
      }
    }
    for (const [key, v] of Object.entries(obj)) {
      const prop = schema.properties?.[key];
      if (prop) {
        problems.push(...validate(v, prop, defs, `${at}.${key}`));
      } else if (schema.additionalProperties === false) {
        problems.push(`${at}: unexpected "${key}"`);
      } else if (typeof schema.additionalProperties === "object") {
        problems.push(...validate(v, schema.additionalProperties, defs, `${at}.${key}`));
      }
    }
  }
  if (typeOf(value) === "array" && schema.items) {
    (value as unknown[]).forEach((v, i) => problems.push(...validate(v, schema.items as Schema, defs, `${at}[${i}]`)));
  }
  return problems;
}

/** The schema of a response body or arguments: definitions[name].allOf[1].properties[key]. */
export function partOf(defs: Record<string, Schema>, name: string, key: "body" | "arguments"): Schema {
  const def = defs[name];
  const own = def.allOf?.find((s) => s.properties?.[key]) ?? def;
  const schema = own.properties?.[key];
  if (!schema) {
    throw new Error(`${name} has no ${key}`);
  }
  return schema;
}
