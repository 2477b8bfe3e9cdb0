// Reads just enough of an ELF file to tell a core from an executable and, for a core, which executable
// wrote it (NT_PRPSINFO's pr_fname and the NT_FILE table of mapped files). Only the ELF header, the
// program headers and the PT_NOTE segments are read, so a multi-gigabyte core costs a few reads.
// Pure: node's fs only, no vscode import.
import { promises as fs } from "node:fs";

export type Compression = "zstd" | "lz4" | "xz" | "gzip";

export type ElfKind = "core" | "executable" | "shared-object" | "relocatable" | "other";

export interface MappedFile {
  start: bigint;
  end: bigint;
  fileOffset: bigint;
  path: string;
}

export interface ElfInfo {
  kind: ElfKind;
  /** e_type as found in the header (ET_EXEC 2, ET_DYN 3, ET_CORE 4, ...). */
  elfType: number;
  bits: 32 | 64;
  littleEndian: boolean;
  machine: number;
  /** For ET_DYN: true when it has a PT_INTERP or looks like a PIE (a Go -buildmode=pie binary), not a plain .so. */
  hasInterpreter: boolean;
  /** The program header table could not be read whole (a core cut short while it was written). */
  truncated: boolean;
  /** Cores only. */
  core?: CoreInfo;
}

export interface CoreInfo {
  /** NT_PRPSINFO pr_fname: the executable's name, cut to 15 bytes by the kernel. */
  processName?: string;
  /** NT_PRPSINFO pr_psargs: the command line, cut to 80 bytes. */
  commandLine?: string;
  pid?: number;
  /** NT_FILE, in address order. */
  mappedFiles: MappedFile[];
  /** The best guess at the executable's path on the machine that crashed (from NT_FILE and pr_fname). */
  executablePath?: string;
}

export type SniffResult =
  | { format: "elf"; info: ElfInfo }
  | { format: "compressed"; compression: Compression }
  | { format: "unknown" };

/** Random access to a file; a FileHandle in production, a Buffer in tests. */
export interface ByteSource {
  readonly size: number;
  read(position: number, length: number): Promise<Uint8Array>;
}

export class ElfFormatError extends Error {}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
const COMPRESSION_MAGICS: Array<[number[], Compression]> = [
  [[0x28, 0xb5, 0x2f, 0xfd], "zstd"],
  [[0x04, 0x22, 0x4d, 0x18], "lz4"],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], "xz"],
  [[0x1f, 0x8b], "gzip"],
];

const ET_REL = 1;
const ET_EXEC = 2;
const ET_DYN = 3;
const ET_CORE = 4;
const PT_INTERP = 3;
const PT_NOTE = 4;
const PN_XNUM = 0xffff;
const NT_PRPSINFO = 3;
const NT_FILE = 0x46494c45;
// Refuse absurd sizes from a corrupt header instead of allocating gigabytes.
const MAX_PROGRAM_HEADERS = 1 << 20;
const MAX_NOTE_SEGMENT = 64 << 20;

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

export function sniffCompression(head: Uint8Array): Compression | undefined {
  for (const [magic, kind] of COMPRESSION_MAGICS) {
    if (startsWith(head, magic)) {
      return kind;
    }
  }
  return undefined;
}

export function isElf(head: Uint8Array): boolean {
  return startsWith(head, ELF_MAGIC);
}

class Reader {
  private readonly view: DataView;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly little: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get length(): number {
    return this.bytes.length;
  }
  private need(offset: number, size: number): void {
    if (offset < 0 || offset + size > this.bytes.length) {
      throw new ElfFormatError(`truncated ELF data (need ${size} bytes at ${offset}, have ${this.bytes.length})`);
    }
  }
  u16(offset: number): number {
    this.need(offset, 2);
    return this.view.getUint16(offset, this.little);
  }
  u32(offset: number): number {
    this.need(offset, 4);
    return this.view.getUint32(offset, this.little);
  }
  u64(offset: number): bigint {
    this.need(offset, 8);
    return this.view.getBigUint64(offset, this.little);
  }
  word(offset: number, bits: 32 | 64): bigint {
    return bits === 64 ? this.u64(offset) : BigInt(this.u32(offset));
  }
  cString(offset: number, maxLength: number): string {
    this.need(offset, 0);
    const end = Math.min(this.bytes.length, offset + maxLength);
    let stop = offset;
    while (stop < end && this.bytes[stop] !== 0) {
      stop++;
    }
    return Buffer.from(this.bytes.subarray(offset, stop)).toString("utf8");
  }
  slice(offset: number, size: number): Uint8Array {
    this.need(offset, size);
    return this.bytes.subarray(offset, offset + size);
  }
}

function toSafeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ElfFormatError(`${what} is out of range (${value})`);
  }
  return Number(value);
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

interface ProgramHeader {
  type: number;
  offset: number;
  fileSize: number;
}

interface HeaderTable {
  phoff: number;
  phnum: number;
  phentsize: number;
  bits: 32 | 64;
  little: boolean;
}

async function readProgramHeaders(source: ByteSource, headers: ProgramHeader[], t: HeaderTable): Promise<void> {
  const { phoff, phnum, phentsize, bits, little } = t;
  if (phnum === 0 || phoff === 0) {
    return;
  }
  const table = new Reader(await source.read(phoff, phnum * phentsize), little);
  if (table.length < phnum * phentsize) {
    throw new ElfFormatError("the program header table is truncated");
  }
  for (let i = 0; i < phnum; i++) {
    const base = i * phentsize;
    if (bits === 64) {
      headers.push({
        type: table.u32(base),
        offset: toSafeNumber(table.u64(base + 8), "p_offset"),
        fileSize: toSafeNumber(table.u64(base + 32), "p_filesz"),
      });
    } else {
      headers.push({ type: table.u32(base), offset: table.u32(base + 4), fileSize: table.u32(base + 16) });
    }
  }
}

/** Parses the ELF header, program headers and (for a core) the notes. */
export async function readElf(source: ByteSource): Promise<ElfInfo> {
  const ident = await source.read(0, 64);
  if (!isElf(ident)) {
    throw new ElfFormatError("not an ELF file");
  }
  const elfClass = ident[4];
  const data = ident[5];
  if (elfClass !== 1 && elfClass !== 2) {
    throw new ElfFormatError(`unknown ELF class ${elfClass}`);
  }
  if (data !== 1 && data !== 2) {
    throw new ElfFormatError(`unknown ELF data encoding ${data}`);
  }
  const bits: 32 | 64 = elfClass === 2 ? 64 : 32;
  const little = data === 1;
  const header = new Reader(ident, little);
  const elfType = header.u16(16);
  const machine = header.u16(18);
  const phoff = bits === 64 ? toSafeNumber(header.u64(32), "e_phoff") : header.u32(28);
  const shoff = bits === 64 ? toSafeNumber(header.u64(40), "e_shoff") : header.u32(32);
  const phentsize = header.u16(bits === 64 ? 54 : 42);
  let phnum = header.u16(bits === 64 ? 56 : 44);
  if (phnum === PN_XNUM && shoff > 0) {
    // More than 0xfffe program headers (big cores): the real count is section header 0's sh_info.
    const sh0 = new Reader(await source.read(shoff, bits === 64 ? 64 : 40), little);
    phnum = sh0.u32(bits === 64 ? 44 : 28);
  }
  const minEntry = bits === 64 ? 56 : 32;
  if (phnum > 0 && phentsize < minEntry) {
    throw new ElfFormatError(`program header entries of ${phentsize} bytes are too small`);
  }
  if (phnum > MAX_PROGRAM_HEADERS) {
    throw new ElfFormatError(`implausible program header count ${phnum}`);
  }
  const headers: ProgramHeader[] = [];
  let truncated = false;
  try {
    await readProgramHeaders(source, headers, { phoff, phnum, phentsize, bits, little });
  } catch (error) {
    if (!(error instanceof ElfFormatError)) {
      throw error;
    }
    truncated = true; // e.g. a core cut short while it was written: the header still tells what it is
  }
  const hasInterpreter = headers.some((h) => h.type === PT_INTERP);
  const kind: ElfKind =
    elfType === ET_CORE
      ? "core"
      : elfType === ET_EXEC
        ? "executable"
        : elfType === ET_DYN
          ? hasInterpreter
            ? "executable"
            : "shared-object"
          : elfType === ET_REL
            ? "relocatable"
            : "other";
  const info: ElfInfo = { kind, elfType, bits, littleEndian: little, machine, hasInterpreter, truncated };
  if (elfType === ET_CORE) {
    info.core = await readCoreNotes(source, headers, bits, little);
  }
  return info;
}

async function readCoreNotes(source: ByteSource, headers: ProgramHeader[], bits: 32 | 64, little: boolean): Promise<CoreInfo> {
  const core: CoreInfo = { mappedFiles: [] };
  for (const ph of headers) {
    if (ph.type !== PT_NOTE || ph.fileSize === 0) {
      continue;
    }
    const size = Math.min(ph.fileSize, MAX_NOTE_SEGMENT, Math.max(0, source.size - ph.offset));
    const notes = new Reader(await source.read(ph.offset, size), little);
    let pos = 0;
    // Core notes are 4-byte aligned whatever the ELF class.
    while (pos + 12 <= notes.length) {
      const nameSize = notes.u32(pos);
      const descSize = notes.u32(pos + 4);
      const type = notes.u32(pos + 8);
      const nameStart = pos + 12;
      const descStart = nameStart + align4(nameSize);
      const next = descStart + align4(descSize);
      if (next > notes.length || next <= pos) {
        break; // a truncated core: keep what was read
      }
      const name = notes.cString(nameStart, nameSize);
      if (name === "CORE") {
        const desc = new Reader(notes.slice(descStart, descSize), little);
        try {
          if (type === NT_PRPSINFO) {
            parsePrpsinfo(desc, bits, core);
          } else if (type === NT_FILE) {
            core.mappedFiles = parseNtFile(desc, bits);
          }
        } catch (error) {
          if (!(error instanceof ElfFormatError)) {
            throw error;
          }
          // One malformed note does not hide the others.
        }
      }
      pos = next;
    }
  }
  core.executablePath = guessExecutable(core);
  return core;
}

function parsePrpsinfo(desc: Reader, bits: 32 | 64, core: CoreInfo): void {
  // struct elf_prpsinfo ends with pr_fname[16] and pr_psargs[80] on every architecture, so they are found
  // from the end whatever the widths of the fields before them.
  if (desc.length < 96) {
    return;
  }
  const fnameAt = desc.length - 96;
  core.processName = desc.cString(fnameAt, 16);
  core.commandLine = desc.cString(fnameAt + 16, 80).trim();
  if (bits === 64 && desc.length === 136) {
    core.pid = desc.u32(24); // x86-64 / arm64 layout: state,sname,zomb,nice,pad4,flag8,uid4,gid4,pid4
  }
}

function parseNtFile(desc: Reader, bits: 32 | 64): MappedFile[] {
  const w = bits / 8;
  const count = toSafeNumber(desc.word(0, bits), "NT_FILE count");
  if (count > desc.length / (3 * w)) {
    throw new ElfFormatError(`NT_FILE claims ${count} entries in ${desc.length} bytes`);
  }
  const files: MappedFile[] = [];
  let names = 2 * w + count * 3 * w;
  for (let i = 0; i < count; i++) {
    const base = 2 * w + i * 3 * w;
    const path = desc.cString(names, desc.length - names);
    names += Buffer.byteLength(path, "utf8") + 1;
    files.push({
      start: desc.word(base, bits),
      end: desc.word(base + w, bits),
      fileOffset: desc.word(base + 2 * w, bits),
      path,
    });
  }
  return files;
}

const DELETED_SUFFIX = " (deleted)";

export function withoutDeletedSuffix(path: string): string {
  return path.endsWith(DELETED_SUFFIX) ? path.slice(0, -DELETED_SUFFIX.length) : path;
}

function baseName(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash >= 0 ? path.slice(slash + 1) : path;
}

/**
 * The executable of the crashed process: the mapped file whose name the kernel recorded as pr_fname (cut to
 * 15 bytes), else the first mapping with file offset 0 (the kernel maps the executable before anything else,
 * and NT_FILE is in address order, which puts a non-PIE Go binary at 0x400000 first).
 */
export function guessExecutable(core: Pick<CoreInfo, "processName" | "mappedFiles">): string | undefined {
  const candidates = core.mappedFiles.filter((f) => f.path.startsWith("/") && !f.path.startsWith("/dev/") && !f.path.startsWith("/memfd:"));
  const name = core.processName;
  if (name) {
    const byName = candidates.find((f) => {
      const base = baseName(withoutDeletedSuffix(f.path));
      return base === name || (name.length >= 15 && base.startsWith(name));
    });
    if (byName) {
      return withoutDeletedSuffix(byName.path);
    }
  }
  const first = candidates.find((f) => f.fileOffset === 0n && !/\.so(\.|$)/.test(baseName(f.path))) ?? candidates[0];
  return first ? withoutDeletedSuffix(first.path) : undefined;
}

/** A ByteSource over an open file; short reads at the end of the file return fewer bytes. */
export async function withFile<T>(path: string, use: (source: ByteSource) => Promise<T>): Promise<T> {
  const handle = await fs.open(path, "r");
  try {
    const { size } = await handle.stat();
    const source: ByteSource = {
      size,
      async read(position: number, length: number): Promise<Uint8Array> {
        const want = Math.max(0, Math.min(length, size - position));
        const buffer = Buffer.alloc(want);
        let got = 0;
        while (got < want) {
          const { bytesRead } = await handle.read(buffer, got, want - got, position + got);
          if (bytesRead === 0) {
            break;
          }
          got += bytesRead;
        }
        return buffer.subarray(0, got);
      },
    };
    return await use(source);
  } finally {
    await handle.close();
  }
}

export function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: async (position, length) => bytes.subarray(Math.min(position, bytes.length), Math.min(position + length, bytes.length)),
  };
}

/** What a file is: an ELF (with its core notes), a compressed file, or something else. Never throws for a readable file. */
export async function sniffFile(path: string): Promise<SniffResult> {
  return withFile(path, async (source) => {
    const head = await source.read(0, 16);
    if (isElf(head)) {
      try {
        return { format: "elf", info: await readElf(source) };
      } catch (error) {
        if (error instanceof ElfFormatError) {
          return { format: "unknown" };
        }
        throw error;
      }
    }
    const compression = sniffCompression(head);
    return compression ? { format: "compressed", compression } : { format: "unknown" };
  });
}
