module example.com/shipping

go 1.25

require example.com/ledger v1.4.2

replace example.com/ledger v1.4.2 => ./ledger
