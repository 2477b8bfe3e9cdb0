import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { bufferSource, guessExecutable, readElf, sniffCompression, sniffFile, withoutDeletedSuffix } from "../../elfCore";
import { corpus, unavailable } from "../support";

test("reads the executable's name and path from a real Go core (NT_PRPSINFO, NT_FILE)", async (t) => {
  const c = corpus();
  if (!c) {
    unavailable(t, "no corpus core (set GOCORE_TEST_PROGRAM and GOCORE_TEST_CORE; tests/extension does)");
    return;
  }
  const sniff = await sniffFile(c.core);
  assert.equal(sniff.format, "elf");
  assert.ok(sniff.format === "elf");
  const info = sniff.info;
  assert.equal(info.kind, "core");
  assert.equal(info.elfType, 4);
  assert.equal(info.truncated, false);
  const core = info.core;
  assert.ok(core);
  assert.ok(core.mappedFiles.length > 0, "NT_FILE lists the mapped files");
  // The corpus runs the binary where it was built, so the core names exactly that file.
  assert.equal(core.executablePath, c.program);
  assert.equal(core.processName, path.basename(c.program).slice(0, 15));
  assert.ok(core.commandLine?.startsWith(c.program.slice(0, 80)) || c.program.startsWith(core.commandLine ?? "\0"));
  assert.ok(core.pid && core.pid > 0);
  const first = core.mappedFiles[0];
  assert.ok(first.start < first.end);
});

test("tells a Go executable from a core", async (t) => {
  const c = corpus();
  if (!c) {
    unavailable(t, "no corpus core");
    return;
  }
  const sniff = await sniffFile(c.program);
  assert.ok(sniff.format === "elf");
  assert.equal(sniff.info.kind, "executable");
  assert.equal(sniff.info.core, undefined);
});

test("recognises compressed cores by magic bytes", () => {
  assert.equal(sniffCompression(Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0])), "zstd");
  assert.equal(sniffCompression(Uint8Array.from([0x04, 0x22, 0x4d, 0x18])), "lz4");
  assert.equal(sniffCompression(Uint8Array.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])), "xz");
  assert.equal(sniffCompression(Uint8Array.from([0x1f, 0x8b, 8])), "gzip");
  assert.equal(sniffCompression(Uint8Array.from([0x7f, 0x45, 0x4c, 0x46])), undefined);
});

// --- synthetic cores: the layouts a real machine here does not produce ------------------------------------

interface NoteSpec {
  type: number;
  desc: Buffer;
}

function note(n: NoteSpec, little: boolean): Buffer {
  const name = Buffer.from("CORE\0\0\0\0"); // "CORE\0" padded to 8
  const head = Buffer.alloc(12);
  const w = (v: number, at: number) => (little ? head.writeUInt32LE(v, at) : head.writeUInt32BE(v, at));
  w(5, 0);
  w(n.desc.length, 4);
  w(n.type, 8);
  const pad = Buffer.alloc((4 - (n.desc.length % 4)) % 4);
  return Buffer.concat([head, name, n.desc, pad]);
}

function ntFile(bits: 32 | 64, little: boolean, files: Array<[bigint, bigint, bigint, string]>): Buffer {
  const w = bits / 8;
  const table = Buffer.alloc(2 * w + files.length * 3 * w);
  const put = (v: bigint, at: number) => {
    if (bits === 64) {
      little ? table.writeBigUInt64LE(v, at) : table.writeBigUInt64BE(v, at);
    } else {
      little ? table.writeUInt32LE(Number(v), at) : table.writeUInt32BE(Number(v), at);
    }
  };
  put(BigInt(files.length), 0);
  put(4096n, w);
  files.forEach(([s, e, o], i) => {
    put(s, 2 * w + i * 3 * w);
    put(e, 2 * w + i * 3 * w + w);
    put(o, 2 * w + i * 3 * w + 2 * w);
  });
  return Buffer.concat([table, ...files.map((f) => Buffer.from(f[3] + "\0"))]);
}

function prpsinfo(size: number, fname: string, args: string): Buffer {
  const b = Buffer.alloc(size);
  b.write(fname, size - 96);
  b.write(args, size - 80);
  return b;
}

/** An ELF core with one PT_NOTE segment holding the given notes. */
function elfCore(bits: 32 | 64, little: boolean, notes: NoteSpec[]): Buffer {
  const ehsize = bits === 64 ? 64 : 52;
  const phentsize = bits === 64 ? 56 : 32;
  const noteData = Buffer.concat(notes.map((n) => note(n, little)));
  const header = Buffer.alloc(ehsize);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, bits === 64 ? 2 : 1, little ? 1 : 2, 1]).copy(header);
  const u16 = (v: number, at: number) => (little ? header.writeUInt16LE(v, at) : header.writeUInt16BE(v, at));
  const u32 = (v: number, at: number) => (little ? header.writeUInt32LE(v, at) : header.writeUInt32BE(v, at));
  u16(4, 16); // ET_CORE
  u16(bits === 64 ? 62 : 3, 18);
  if (bits === 64) {
    little ? header.writeBigUInt64LE(BigInt(ehsize), 32) : header.writeBigUInt64BE(BigInt(ehsize), 32);
    u16(phentsize, 54);
    u16(1, 56);
  } else {
    u32(ehsize, 28);
    u16(phentsize, 42);
    u16(1, 44);
  }
  const ph = Buffer.alloc(phentsize);
  const offset = ehsize + phentsize;
  if (bits === 64) {
    little ? ph.writeUInt32LE(4, 0) : ph.writeUInt32BE(4, 0);
    little ? ph.writeBigUInt64LE(BigInt(offset), 8) : ph.writeBigUInt64BE(BigInt(offset), 8);
    little ? ph.writeBigUInt64LE(BigInt(noteData.length), 32) : ph.writeBigUInt64BE(BigInt(noteData.length), 32);
  } else {
    const p = (v: number, at: number) => (little ? ph.writeUInt32LE(v, at) : ph.writeUInt32BE(v, at));
    p(4, 0);
    p(offset, 4);
    p(noteData.length, 16);
  }
  return Buffer.concat([header, ph, noteData]);
}

const SERVER = "/srv/app/bin/a-long-server-name";

for (const [bits, little, prpsSize] of [
  [64, true, 136],
  [32, true, 124],
  [64, false, 136],
] as const) {
  test(`parses a ${bits}-bit ${little ? "little" : "big"}-endian core`, async () => {
    const bytes = elfCore(bits, little, [
      { type: 3, desc: prpsinfo(prpsSize, "a-long-server-n", `${SERVER} -flag`) },
      {
        type: 0x46494c45,
        desc: ntFile(bits, little, [
          [0x400000n, 0x401000n, 0n, `${SERVER} (deleted)`],
          [0x7f000000n, 0x7f001000n, 0n, "/usr/lib/libc.so.6"],
        ]),
      },
    ]);
    const info = await readElf(bufferSource(bytes));
    assert.equal(info.kind, "core");
    assert.equal(info.bits, bits);
    assert.equal(info.core?.processName, "a-long-server-n");
    assert.equal(info.core?.commandLine, `${SERVER} -flag`);
    assert.equal(info.core?.mappedFiles.length, 2);
    // pr_fname is cut to 15 bytes and the binary was replaced after it started: both handled.
    assert.equal(info.core?.executablePath, SERVER);
  });
}

test("a core cut short still reads as a core", async () => {
  const bytes = elfCore(64, true, [{ type: 3, desc: prpsinfo(136, "server", "server") }]);
  const info = await readElf(bufferSource(bytes.subarray(0, 70)));
  assert.equal(info.kind, "core");
  assert.equal(info.truncated, true);
});

test("a malformed NT_FILE does not hide NT_PRPSINFO", async () => {
  const bogus = Buffer.alloc(16);
  bogus.writeBigUInt64LE(1000000n, 0);
  const bytes = elfCore(64, true, [
    { type: 0x46494c45, desc: bogus },
    { type: 3, desc: prpsinfo(136, "server", "/x/server") },
  ]);
  const info = await readElf(bufferSource(bytes));
  assert.equal(info.core?.processName, "server");
  assert.deepEqual(info.core?.mappedFiles, []);
});

test("guessExecutable prefers the pr_fname match, else the first file at offset 0", () => {
  const files = [
    { start: 1n, end: 2n, fileOffset: 0n, path: "/usr/lib/ld-linux.so.2" },
    { start: 3n, end: 4n, fileOffset: 0n, path: "/opt/app/server" },
  ];
  assert.equal(guessExecutable({ processName: "server", mappedFiles: files }), "/opt/app/server");
  assert.equal(guessExecutable({ mappedFiles: files }), "/opt/app/server");
  assert.equal(guessExecutable({ mappedFiles: [] }), undefined);
  assert.equal(withoutDeletedSuffix("/a/b (deleted)"), "/a/b");
});

test("a text file is not an ELF", async () => {
  const sniff = await sniffFile(__filename);
  assert.equal(sniff.format, "unknown");
});
