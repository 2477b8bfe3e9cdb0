// Package route plans a shipment and books its cost.
package route

import "example.com/ledger"

// Leg is one hop of a shipment, with its cost in cents.
type Leg struct {
	From, To string
	Cents    int64
}

// Book charges every leg of a shipment to the customer's account.
func Book(book *ledger.Book, customer string, legs []Leg) int64 {
	var total int64
	for _, leg := range legs {
		book.Post(customer, "carrier:"+leg.To, leg.Cents)
		total += leg.Cents
	}
	return total
}
