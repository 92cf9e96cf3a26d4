"""Pure rule families: no I/O, no ORM. Each function returns a Decision with its reasons."""
