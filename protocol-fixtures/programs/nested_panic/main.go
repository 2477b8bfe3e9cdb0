// Command nested_panic panics while panicking: a deferred rollback panics
// during the unwinding of the first panic, and nothing recovers either.
package main

import (
	"errors"
	"fmt"
)

type conn struct{ addr string }

type txn struct {
	id   int
	conn *conn
}

func (t *txn) rollback() {
	if t.conn == nil {
		panic(fmt.Sprintf("txn %d: rollback on closed connection", t.id))
	}
	fmt.Println("rolled back", t.id, "on", t.conn.addr)
}

var errFunds = errors.New("insufficient funds")

func transfer(t *txn, from, to string, amount int) {
	defer t.rollback()
	balance := map[string]int{"alice": 20, "bob": 5}
	if balance[from] < amount {
		// The connection is dropped before the error surfaces, so the
		// deferred rollback finds it gone.
		t.conn = nil
		panic(fmt.Errorf("transfer %s->%s %d: %w", from, to, amount, errFunds))
	}
}

func main() {
	t := &txn{id: 7, conn: &conn{addr: "db:5432"}}
	transfer(t, "bob", "alice", 50)
}
