// Command nil_deref dereferences a nil *Account three calls below main. It is
// built with -gcflags='-N -l' so every local below stays readable in the core:
// the crashing frame and its callers hold structs, maps, slices, strings,
// interfaces, channels, pointers, errors, ints, floats, bools and arrays, and the
// crashing frame holds a slice, a map and a string too big to show at once.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

type Account struct {
	ID      int
	Owner   string
	Balance float64
	Frozen  bool
	Tags    []string
	Limits  map[string]int
	Parent  *Account
}

type FeeSchedule struct {
	Name  string
	Rates [4]float64
}

type Ledger struct {
	Region   string
	accounts map[int]*Account
	journal  []string
}

var errNotFound = errors.New("account not found")

func (l *Ledger) lookup(id int) (*Account, error) {
	a, ok := l.accounts[id]
	if !ok {
		return nil, fmt.Errorf("lookup %d in %s: %w", id, l.Region, errNotFound)
	}
	return a, nil
}

// applyFee is where the nil *Account is finally used.
func applyFee(acct *Account, sched FeeSchedule, tier int, audit chan<- string) float64 {
	rates := sched.Rates
	rate := rates[tier]
	waived := tier == 0
	currency := "EUR"
	memo := []string{"fee", sched.Name}
	var out io.Writer = os.Stdout
	var note any = sched
	// Big enough that a debugger must page them (more than 64 elements, more than 512 bytes).
	history := make([]float64, 300)
	for i := range history {
		history[i] = float64(i) * rate
	}
	dailyCaps := make(map[string]int, 100)
	for day := 0; day < 100; day++ {
		dailyCaps[fmt.Sprintf("day-%03d", day)] = day * (tier + 1)
	}
	statement := strings.Repeat(sched.Name+" fee;", 300)
	label := fmt.Sprintf("acct-%d/%s", acct.ID, sched.Name) // acct is nil: SIGSEGV, addr=0x0
	fee := acct.Balance * rate
	audit <- label
	fmt.Fprintln(out, label, fee, currency, waived, note, memo, len(history), len(dailyCaps), len(statement))
	return fee
}

func settle(l *Ledger, ids []int, sched FeeSchedule) (total float64, err error) {
	audit := make(chan string, len(ids))
	seen := map[int]bool{}
	limits := map[string]int{"daily": 5000, "monthly": 60000}
	retries := 3
	var lastErr error
	for i, id := range ids {
		acct, lerr := l.lookup(id)
		if lerr != nil {
			lastErr = lerr // logged, but acct is used anyway: the bug
		}
		seen[id] = true
		tier := i % len(sched.Rates)
		total += applyFee(acct, sched, tier, audit)
	}
	_ = limits
	_ = retries
	return total, lastErr
}

func main() {
	parent := &Account{ID: 1, Owner: "holding", Balance: 1e6}
	ledger := Ledger{
		Region: "eu-west-1",
		accounts: map[int]*Account{
			42: {ID: 42, Owner: "acme", Balance: 1250.75, Tags: []string{"gold", "eu"},
				Limits: map[string]int{"daily": 500}, Parent: parent},
			43: {ID: 43, Owner: "globex", Balance: -12.5, Frozen: true, Parent: parent},
		},
	}
	batch := []int{42, 43, 44}
	sched := FeeSchedule{Name: "standard", Rates: [4]float64{0, 0.01, 0.015, 0.02}}
	dryRun := false
	operator := strings.ToUpper("ops")
	total, err := settle(&ledger, batch, sched)
	fmt.Println(total, err, dryRun, operator)
}
