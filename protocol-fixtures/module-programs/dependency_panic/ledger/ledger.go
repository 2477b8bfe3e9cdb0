// Package ledger keeps account balances; it is a separate module, replaced by this directory.
package ledger

import "fmt"

// Book holds the balance of each account in cents.
type Book struct {
	balances map[string]int64
}

// NewBook opens a book with the given opening balances.
func NewBook(opening map[string]int64) *Book {
	b := &Book{balances: make(map[string]int64, len(opening))}
	for account, cents := range opening {
		b.balances[account] = cents
	}
	return b
}

// Post moves cents from one account to another; an overdraft is a bug in the caller.
func (b *Book) Post(from, to string, cents int64) {
	if b.balances[from] < cents {
		panic(fmt.Sprintf("ledger: overdraft on %s: balance %d, debit %d", from, b.balances[from], cents))
	}
	b.balances[from] -= cents
	b.balances[to] += cents
}
