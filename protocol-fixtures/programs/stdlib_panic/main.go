// Command stdlib_panic panics inside the standard library: regexp.MustCompile
// gets a routing rule with an unbalanced parenthesis and panics in package
// regexp, below the program's own line that called it.
package main

import (
	"fmt"
	"regexp"
	"strings"
)

type route struct {
	name    string
	pattern string
}

func compileRoutes(routes []route) map[string]*regexp.Regexp {
	compiled := make(map[string]*regexp.Regexp, len(routes))
	for _, r := range routes {
		compiled[r.name] = regexp.MustCompile("^" + r.pattern + "$")
	}
	return compiled
}

func main() {
	routes := []route{
		{"orders", `/orders/(?P<id>[0-9]+)`},
		{"invoice", `/invoices/(?P<id>[0-9]+/pdf`},
	}
	table := compileRoutes(routes)
	fmt.Println(strings.Repeat("-", 20), len(table), "routes")
}
