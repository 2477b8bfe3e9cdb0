"""A recorded session on the `classic` core, kept as a golden transcript, and its replay.

`protocol-fixtures/transcripts/classic.jsonl` holds every message of one editor-like session, both ways,
one JSON object per line: `{"from": "client" | "adapter", "message": {...}}`, after a first line
`{"from": "recording", ...}` that says what it was recorded with (the core's Go version, the pinned Delve).
Ids that the client takes from earlier answers (thread, frame, variables reference...) are written as
`${name}` placeholders (see `Bindings`), so the transcript is also a script.

`test_replay_matches_the_transcript` replays the recorded requests against the real adapter on a `classic`
core built here, and compares every message, values included: the panic text, the threads and their
names, the exception info and its traceback, the crashing goroutine's frames, scopes, variables,
evaluations, disassembly, errors, and the events (`output` included). For one Go version and one Delve all
of that is fixed, except what differs between two builds and runs of the program on two machines, which is
normalised, when recording and when replaying alike:

* paths: the checkout becomes `<REPO>`, the Go installation `<GOROOT>`, the cache entry `<BUILD>` (where
  the core was built, not what it holds);
* the Go version in text becomes `<GOVERSION>` (the recording line keeps it, and a core of another Go
  version fails the test with a request to record again: runtime lines and frames differ between versions);
* addresses of 5+ hex digits become `0x<ADDR>` (heap and stack addresses differ between two runs of the
  program; the small offsets that identify code or DWARF entries are compared);
* the bytes `readMemory` returns become `<N bytes>` (they hold pointers);
* goroutine ids (in `threadId`, the `threads` list and the text `goroutine N`): the crashing goroutine's
  becomes `<CRASHING>` (which one crashed comes from the program's own traceback, so a stop on the wrong
  goroutine still fails), main's stays 1, any other becomes `<GOROUTINE>`: the runtime hands out ids in
  per-P batches, so two runs of one program number their goroutines differently;
* in the `threads` list, after the crashing thread, the threads are compared by name, and runnable
  goroutines are left out (see `comparable_threads`: which goroutines had not yet run or ended when the
  program panicked differs between two runs);
* the adapter's own `seq` numbers are not compared (the order of the messages is); `request_seq`, the
  client's numbering, is.

To record the transcript again (after a deliberate protocol change, or for a new Go or Delve):

    UPDATE_TRANSCRIPTS=1 .venv/bin/pytest tests/protocol/test_transcript.py

which runs `SCRIPT` and rewrites the file; review the diff before committing it.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from gocore_dap import DELVE_VERSION
from tests.conftest import skip_reviewed
from tests.support.corpus_fixtures import CorpusCase
from tests.support.dap_client import REPO, DapClient

pytestmark = pytest.mark.integration

TRANSCRIPT = REPO / "protocol-fixtures" / "transcripts" / "classic.jsonl"
UPDATE = os.environ.get("UPDATE_TRANSCRIPTS") == "1"
RECORDING = "recording"  # the `from` of the first line, which says what the transcript was recorded with
_PLACEHOLDER_RE = re.compile(r"^\$\{(?P<name>[\w.]+)\}$")
_ADDRESS_RE = re.compile(r"0x[0-9a-f]{5,}")
_GO_VERSION_RE = re.compile(r"\bgo1\.\d+(?:\.\d+)?\b")
_GOROUTINE_RE = re.compile(r"\bgoroutine (\d+)\b")
CRASHING = "<CRASHING>"  # the crashing goroutine's id
OTHER_GOROUTINE = "<GOROUTINE>"  # any other goroutine's but main's (1)

# The session an editor has on a crash: configure, land on the crash, look around, try to step, leave.
SCRIPT: list[tuple[str, dict[str, Any] | None]] = [
    (
        "initialize",
        {
            "clientID": "vscode",
            "clientName": "Visual Studio Code",
            "adapterID": "go-core",
            "pathFormat": "path",
            "linesStartAt1": True,
            "columnsStartAt1": True,
            "supportsVariableType": True,
            "supportsVariablePaging": True,
            "supportsRunInTerminalRequest": True,
            "supportsMemoryReferences": True,
            "supportsProgressReporting": True,
            "supportsInvalidatedEvent": True,
            "locale": "en",
        },
    ),
    (
        "launch",
        {
            "type": "go-core",
            "request": "launch",
            "name": "Open core",
            "program": "${program}",
            "coreFilePath": "${core}",
            "__sessionId": "0b9a7b1e-5a3c-4bd4-9e49-1f1c3b7d2c11",
        },
    ),
    (
        "setBreakpoints",
        {
            "source": {"name": "main.go", "path": "${main_go}"},
            "lines": [27],
            "breakpoints": [{"line": 27}],
            "sourceModified": False,
        },
    ),
    ("setExceptionBreakpoints", {"filters": []}),
    ("configurationDone", None),
    ("threads", None),
    ("exceptionInfo", {"threadId": "${stopped.threadId}"}),
    ("stackTrace", {"threadId": "${stopped.threadId}", "startFrame": 0, "levels": 20}),
    ("scopes", {"frameId": "${frame.user.id}"}),
    ("variables", {"variablesReference": "${scope.Arguments}"}),
    ("variables", {"variablesReference": "${scope.Locals}"}),
    ("variables", {"variablesReference": "${variable.expandable}"}),
    ("evaluate", {"expression": "processed", "frameId": "${frame.user.id}", "context": "hover"}),
    ("evaluate", {"expression": "processed * 10 + id", "frameId": "${frame.user.id}", "context": "repl"}),
    ("evaluate", {"expression": "nosuchname", "frameId": "${frame.user.id}", "context": "watch"}),
    (
        "disassemble",
        {
            "memoryReference": "${frame.user.instructionPointerReference}",
            "offset": 0,
            "instructionOffset": -2,
            "instructionCount": 5,
            "resolveSymbols": True,
        },
    ),
    ("readMemory", {"memoryReference": "${variable.memory}", "offset": 0, "count": 16}),
    ("continue", {"threadId": "${stopped.threadId}"}),
    ("next", {"threadId": "${stopped.threadId}"}),
    ("disconnect", {"restart": False, "terminateDebuggee": True}),
]


class Bindings:
    """The values `${name}` placeholders stand for, learnt from the session as it goes."""

    def __init__(self, case: CorpusCase) -> None:
        self.values: dict[str, Any] = {
            "program": str(case.artifact.binary),
            "core": str(case.artifact.core),
            "main_go": str(case.artifact.source_dir / "main.go"),
        }

    def learn(self, message: dict[str, Any]) -> None:
        body = message.get("body") or {}
        if message.get("event") == "stopped":
            self.values["stopped.threadId"] = body.get("threadId")
        if message.get("command") == "stackTrace" and message.get("success"):
            user = next(
                f for f in body["stackFrames"] if (f.get("source") or {}).get("presentationHint") != "deemphasize"
            )
            self.values["frame.user.id"] = user["id"]
            self.values["frame.user.instructionPointerReference"] = user.get("instructionPointerReference")
        if message.get("command") == "scopes" and message.get("success"):
            for scope in body["scopes"]:
                self.values[f"scope.{scope['name'].split(' (')[0]}"] = scope["variablesReference"]
        if message.get("command") == "variables" and message.get("success"):
            for variable in body["variables"]:
                if variable.get("variablesReference") and "variable.expandable" not in self.values:
                    self.values["variable.expandable"] = variable["variablesReference"]
                if variable.get("memoryReference") and "variable.memory" not in self.values:
                    self.values["variable.memory"] = variable["memoryReference"]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, str) and (match := _PLACEHOLDER_RE.match(value)):
            name = match["name"]
            if name not in self.values:
                raise AssertionError(f"the session gave no value for ${{{name}}} (learnt: {sorted(self.values)})")
            return self.values[name]
        return value


def normaliser(case: CorpusCase) -> Callable[[Any], Any]:
    build = str(case.artifact.build_dir)
    goroot = _goroot_of(case)
    replacements = [(build, "<BUILD>"), (str(REPO), "<REPO>")] + ([(goroot, "<GOROOT>")] if goroot else [])
    # The goroutine that crashed, as the program's own traceback names it: the adapter must say the same.
    crashing = case.parsed.crashing_goroutine()
    crashing_id = crashing.id if crashing is not None else None

    def goroutine(gid: int) -> int | str:
        if gid == crashing_id:
            return CRASHING
        return gid if gid == 1 else OTHER_GOROUTINE  # runtime.main is goroutine 1 in every run

    def text(value: str) -> str:
        for old, new in replacements:
            value = value.replace(old, new)
        value = _GO_VERSION_RE.sub("<GOVERSION>", value)
        value = _GOROUTINE_RE.sub(lambda match: f"goroutine {goroutine(int(match[1]))}", value)
        return _ADDRESS_RE.sub("0x<ADDR>", value)

    def normalise(value: Any) -> Any:
        if isinstance(value, dict):
            if value.get("command") == "readMemory" and isinstance(value.get("body"), dict):
                data = value["body"].get("data")
                if isinstance(data, str):
                    count = len(base64.b64decode(data))
                    value = {**value, "body": {**value["body"], "data": f"<{count} bytes>"}}
            if value.get("command") == "threads" and isinstance(value.get("body"), dict):
                threads = [{**t, "id": goroutine(t["id"])} for t in value["body"].get("threads", [])]
                value = {**value, "body": {**value["body"], "threads": threads}}
            return {
                k: goroutine(v) if k == "threadId" and isinstance(v, int) else normalise(v) for k, v in value.items()
            }
        if isinstance(value, list):
            return [normalise(v) for v in value]
        if isinstance(value, str):
            return text(value)
        return value

    return normalise


def _goroot_of(case: CorpusCase) -> str | None:
    for goroutine in case.parsed.goroutines:
        for frame in goroutine.frames:
            if frame.function == "runtime.goexit" and "/src/runtime/" in frame.file:
                return frame.file.split("/src/runtime/")[0]
    return None


def run_session(case: CorpusCase, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send `requests` (with placeholders) one by one, the way an editor does, and record every message."""
    bindings = Bindings(case)
    normalise = normaliser(case)
    records: list[dict[str, Any]] = []
    client = DapClient()
    seen = 0

    def collect() -> None:
        nonlocal seen
        for message in client.timeline[seen:]:
            bindings.learn(message)
            records.append({"from": "adapter", "message": normalise(message)})
        seen = len(client.timeline)

    try:
        for request in requests:
            command, arguments = request["command"], request.get("arguments")
            seq = client.send(command, bindings.resolve(arguments) if arguments is not None else None)
            records.append({"from": "client", "message": {**request, "seq": seq}})
            client.response(seq, timeout=120)
            if command == "launch":
                client.event("initialized", timeout=60)
            if command == "configurationDone":
                client.event("stopped", timeout=120)
            collect()
        client.process.wait(15)  # the adapter ends itself after `disconnect`
    finally:
        client.close()
    collect()
    client.assert_clean()
    return records


def recording_line(case: CorpusCase) -> dict[str, Any]:
    """What a transcript's values depend on besides the adapter: the core's Go version, the Delve release."""
    return {"from": RECORDING, "program": case.name, "goVersion": case.go_version, "delve": DELVE_VERSION}


def compared(records: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """The records a replay must reproduce, in order, with their values: every message but the adapter's
    own seq numbers (the module docstring lists the normalisations, applied when the records were made)."""
    out: list[tuple[str, Any]] = []
    for record in records:
        message = dict(record["message"])
        if record["from"] == "adapter":
            message.pop("seq", None)
        if message.get("command") == "threads" and message.get("success"):
            message["body"] = {**message["body"], "threads": comparable_threads(message["body"]["threads"])}
        label = f"{record['from']} {message.get('type')} {message.get('command') or message.get('event')}"
        out.append((label, message))
    return out


def comparable_threads(threads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The crashing thread first, as listed; then the others by name (their ids are normalised, so the
    adapter's order by id says nothing here), without the goroutines that were runnable: the scheduler had
    readied them but not run them when the panic stopped the program, and whether classic's order sender
    is still among them at that moment is a race of the program, not of the adapter."""
    first, rest = threads[:1], threads[1:]
    return first + sorted((t for t in rest if "[runnable]" not in t["name"]), key=lambda t: str(t["name"]))


def first_difference(want: Any, got: Any, where: str = "") -> str | None:
    """Where two values first differ, as a path and both values (a whole message is too long to read)."""
    if isinstance(want, dict) and isinstance(got, dict):
        for key in sorted(set(want) | set(got)):
            if key not in got or key not in want:
                return f"{where}/{key}: recorded {want.get(key, '(absent)')!r}, now {got.get(key, '(absent)')!r}"
            found = first_difference(want[key], got[key], f"{where}/{key}")
            if found:
                return found
        return None
    if isinstance(want, list) and isinstance(got, list):
        for index, (a, b) in enumerate(zip(want, got, strict=False)):
            found = first_difference(a, b, f"{where}[{index}]")
            if found:
                return found
        if len(want) != len(got):
            return f"{where}: recorded {len(want)} items, now {len(got)}"
        return None
    return None if want == got else f"{where}: recorded {want!r}, now {got!r}"


@attrs.frozen
class Transcript:
    recording: dict[str, Any]
    records: list[dict[str, Any]]


def read_transcript() -> Transcript:
    assert TRANSCRIPT.exists(), f"{TRANSCRIPT} is missing: record it with UPDATE_TRANSCRIPTS=1"
    lines = [json.loads(line) for line in TRANSCRIPT.read_text().splitlines() if line.strip()]
    assert lines and lines[0].get("from") == RECORDING, f"{TRANSCRIPT} does not start with its recording line"
    return Transcript(lines[0], lines[1:])


def test_replay_matches_the_transcript(classic: CorpusCase) -> None:
    if UPDATE:
        script = [{"type": "request", "command": c, **({"arguments": a} if a is not None else {})} for c, a in SCRIPT]
        records = run_session(classic, script)
        TRANSCRIPT.parent.mkdir(parents=True, exist_ok=True)
        lines = [recording_line(classic), *records]
        TRANSCRIPT.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in lines))
        skip_reviewed(f"an opt-in run: recorded {len(records)} messages into {TRANSCRIPT.relative_to(REPO)}")
    transcript = read_transcript()
    now = recording_line(classic)
    assert transcript.recording == now, (
        f"the transcript was recorded with {transcript.recording}, this run has {now}: the runtime's frames "
        "and lines differ between Go versions (Delve's answers between releases), so record it again with "
        "UPDATE_TRANSCRIPTS=1 and review the diff"
    )
    requests = [
        {k: v for k, v in r["message"].items() if k != "seq"} for r in transcript.records if r["from"] == "client"
    ]
    replayed = run_session(classic, requests)
    want, got = compared(transcript.records), compared(replayed)
    for index, ((label, expected), (label_now, actual)) in enumerate(zip(want, got, strict=False)):
        assert label_now == label, f"message {index}: recorded {label}, now {label_now}"
        assert actual == expected, (
            f"message {index} ({label}) changed: {first_difference(expected, actual)}\n"
            f"recorded: {json.dumps(expected, sort_keys=True)}\nnow:      {json.dumps(actual, sort_keys=True)}"
        )
    assert [label for label, _ in got] == [label for label, _ in want]


def test_transcript_is_normalised() -> None:
    """No machine-specific value leaks into the committed file."""
    if UPDATE:
        skip_reviewed("an opt-in run: the transcript is being recorded")
    transcript = read_transcript()
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in transcript.records)
    assert str(REPO) not in text and "/root/" not in text and "/usr/local/go" not in text
    assert not _ADDRESS_RE.search(text)
    assert not _GO_VERSION_RE.search(text)
    kinds = [r["from"] for r in transcript.records]
    assert kinds[0] == "client" and "adapter" in kinds and set(kinds) == {"client", "adapter"}
    commands = [r["message"].get("command") for r in transcript.records if r["from"] == "client"]
    assert commands == [c for c, _ in SCRIPT], "the transcript and SCRIPT differ: record it again"
