"""Wait-object groups in words, and finding the variable that holds an object (pure parts)."""

from __future__ import annotations

from gocore_dap.backends.delve.api import Variable
from gocore_dap.core.wait_names import _holds, is_main_module_function
from gocore_dap.goviews import kinds
from gocore_dap.goviews.wait_objects import WaitTarget, describe_wait, wait_key


def var(name: str, kind: int, *, addr: int = 0, base: int = 0, type: str = "", children: tuple[Variable, ...] = (),
        unreadable: str = "") -> Variable:  # fmt: skip
    return Variable(
        name=name, addr=addr, only_addr=False, type=type, real_type=type, flags=0, kind=kind, value="",
        len=len(children), cap=0, children=children, base=base, unreadable=unreadable, decl_line=0,
    )  # fmt: skip


def test_labels_say_how_and_on_what() -> None:
    jobs = WaitTarget("receive", "chan", 0xC000123456, "chan int", 0, 0, False)
    assert describe_wait([jobs]) == "receive from chan int 0xc000123456 (len 0, cap 0)"
    full = WaitTarget("send", "chan", 0x10, "chan string", 4, 4, False)
    assert describe_wait([full]) == "send to chan string 0x10 (len 4, cap 4)"
    closed = WaitTarget("receive", "chan", 0x20, "chan int", 0, 0, True)
    assert describe_wait([closed]).endswith("(len 0, cap 0; closed)")
    mutex = WaitTarget("lock", "sync.Mutex", 0xC0000100, "sync.Mutex")
    assert describe_wait([mutex]) == "lock sync.Mutex at 0xc0000100"
    assert describe_wait([WaitTarget("rlock", "sync.RWMutex", 0x30, "sync.RWMutex")]).startswith("read-lock ")
    two = [WaitTarget("select", "chan", 0x40, "chan int"), WaitTarget("select", "chan", 0x30, "chan bool")]
    assert describe_wait(two) == "select on 2 channels: chan bool 0x30, chan int 0x40"
    assert describe_wait([]) == "not blocked on an object"


def test_keys_are_stable_and_tell_operations_apart() -> None:
    a = [WaitTarget("select", "chan", 0x40, "chan int"), WaitTarget("select", "chan", 0x30, "chan bool")]
    assert wait_key(a) == wait_key(list(reversed(a))) == "waitObject:select@chan@30,select@chan@40"
    rw = 0x50
    assert wait_key([WaitTarget("rlock", "sync.RWMutex", rw, "")]) != wait_key(
        [WaitTarget("lock", "sync.RWMutex", rw, "")]
    )


def test_a_variable_holds_an_object_itself_by_pointer_or_as_a_field() -> None:
    hchan = 0xC000200000
    ch = var("jobs", kinds.CHAN, base=hchan, type="chan int")
    assert _holds(ch, hchan, "chan", "jobs") == "jobs"
    assert _holds(ch, hchan + 8, "chan", "jobs") is None
    mu = var("mu", kinds.STRUCT, addr=0xC0001000, type="sync.Mutex")
    assert _holds(mu, 0xC0001000, "sync.Mutex", "mu") == "mu"
    pointer = var("m", kinds.PTR, children=(var("", kinds.STRUCT, addr=0xC0001000, type="sync.Mutex"),))
    assert _holds(pointer, 0xC0001000, "sync.Mutex", "m") == "m"
    d = var("d", kinds.PTR, children=(
        var("", kinds.STRUCT, addr=0xC0002000, type="main.dispatcher", children=(
            var("jobs", kinds.CHAN, base=hchan), var("mu", kinds.STRUCT, addr=0xC0002010, type="sync.Mutex"),
        )),
    ))  # fmt: skip
    assert _holds(d, hchan, "chan", "d") == "d.jobs"
    assert _holds(d, 0xC0002010, "sync.Mutex", "d") == "d.mu"
    assert _holds(var("d", kinds.PTR, unreadable="could not find loclist entry"), hchan, "chan", "d") is None


def test_your_code_for_naming() -> None:
    yours = is_main_module_function("example.com/shop")
    assert yours("main.worker") and yours("example.com/shop/orders.(*Queue).Take")
    assert not yours("sync.(*Mutex).Lock") and not yours("example.com/shopping.F")
