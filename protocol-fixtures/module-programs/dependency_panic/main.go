// Command dependency_panic books a shipment whose cost exceeds the customer's balance: the panic is raised
// in a dependency module (example.com/ledger, replaced by ./ledger) called from a package of the main module.
package main

import (
	"fmt"

	"example.com/ledger"
	"example.com/shipping/internal/route"
)

func main() {
	book := ledger.NewBook(map[string]int64{"acme": 12_000})
	legs := []route.Leg{
		{From: "Rotterdam", To: "Hamburg", Cents: 7_500},
		{From: "Hamburg", To: "Oslo", Cents: 9_900},
	}
	total := route.Book(book, "acme", legs)
	fmt.Println("booked", total)
}
