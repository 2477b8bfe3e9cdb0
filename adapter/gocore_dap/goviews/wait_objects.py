"""What goroutines block on, in words (pure): the label of a wait-object group.

A goroutine parked on a channel, a sync type or a runtime semaphore names the object and how it waits on
it (receive, send, select, lock, rlock, wait, acquire); goroutines that wait on the same objects in the
same way form one group, e.g. "receive from chan int 0xc000123456 (len 0, cap 0)".
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

__all__ = ["WaitTarget", "describe_wait", "wait_key"]

_VERBS = {
    "receive": "receive from",
    "send": "send to",
    "select": "select on",
    "lock": "lock",
    "rlock": "read-lock",
    "wait": "wait on",
    "acquire": "acquire",
}


@attrs.frozen
class WaitTarget:
    """One object a goroutine waits on, and how (`operation`: receive, send, select, lock, rlock, wait,
    acquire). `kind` is "chan", "sync.Mutex", "sync.RWMutex", "sync.WaitGroup", "sync.Cond" or
    "semaphore"; `type_name` is "chan T" for a channel."""

    operation: str
    kind: str
    address: int
    type_name: str
    length: int | None = None
    capacity: int | None = None
    closed: bool | None = None


def wait_key(targets: Sequence[WaitTarget]) -> str:
    """A stable group key: the same objects waited on the same way."""
    return "waitObject:" + ",".join(f"{t.operation}@{t.kind}@{t.address:x}" for t in sorted(targets, key=_order))


def describe_wait(targets: Sequence[WaitTarget]) -> str:
    """`receive from chan int 0xc000123456 (len 0, cap 0)`, `lock sync.Mutex at 0xc000010000`,
    `select on 2 channels: chan int 0x..., chan string 0x...`."""
    ordered = sorted(targets, key=_order)
    if not ordered:
        return "not blocked on an object"
    if len(ordered) > 1 and all(t.kind == "chan" for t in ordered):
        verb = _VERBS.get(ordered[0].operation, ordered[0].operation)
        return f"{verb} {len(ordered)} channels: " + ", ".join(_object(t) for t in ordered)
    return "; ".join(f"{_VERBS.get(t.operation, t.operation)} {_object(t)}" for t in ordered)


def _object(target: WaitTarget) -> str:
    if target.kind == "chan":
        facts = []
        if target.length is not None and target.capacity is not None:
            facts.append(f"len {target.length}, cap {target.capacity}")
        if target.closed:
            facts.append("closed")
        suffix = f" ({'; '.join(facts)})" if facts else ""
        return f"{target.type_name or 'chan'} {target.address:#x}{suffix}"
    return f"{target.type_name or target.kind} at {target.address:#x}"


def _order(target: WaitTarget) -> tuple[str, int, str]:
    return (target.kind, target.address, target.operation)
