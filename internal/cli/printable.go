package cli

import (
	"strconv"
	"strings"
	"unicode"
)

// printable is user-supplied text (a version's author and message, from an admin token name, a
// JWT sub or ?message=) made safe for a terminal: control characters, escape sequences and
// line or tab breaks are written as Go escapes, so that such text can neither move the cursor,
// recolour the screen nor forge a line of `keygate config history` output.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || r == '\\' }) < 0 {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}
