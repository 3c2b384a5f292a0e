package config

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
)

// Positions finds where a field path (`providers[1].upstream.timeout`) is written in a config
// file: the YAML node's line and column. It is built once per file; a path that does not
// resolve to the end gives the position of its deepest written ancestor (a missing required
// field points at the mapping that lacks it).
type Positions struct{ root *yamlv3.Node }

// NewPositions reads data's node tree. Unreadable YAML gives Positions that locate nothing.
func NewPositions(data []byte) *Positions {
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return &Positions{}
	}
	return &Positions{root: doc.Content[0]}
}

// Locate returns the 1-based line and column of path, or 0, 0.
func (p *Positions) Locate(path string) (line, col int) {
	n := p.root
	if n == nil {
		return 0, 0
	}
	line, col = n.Line, n.Column
	rest := path
	for rest != "" && n != nil {
		for n.Kind == yamlv3.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		switch n.Kind {
		case yamlv3.SequenceNode:
			if !strings.HasPrefix(rest, "[") {
				return line, col
			}
			end := strings.IndexByte(rest, ']')
			i, err := strconv.Atoi(rest[1:max(end, 1)])
			if end < 0 || err != nil || i < 0 || i >= len(n.Content) {
				return line, col
			}
			n, rest = n.Content[i], strings.TrimPrefix(rest[end+1:], ".")
			line, col = n.Line, n.Column
		case yamlv3.MappingNode:
			// A key may itself hold a '.' (a secret or map key): take the longest key that
			// the rest of the path starts with, followed by a separator or the end.
			best := -1
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if (rest == k || strings.HasPrefix(rest, k+".") || strings.HasPrefix(rest, k+"[")) &&
					(best < 0 || len(k) > len(n.Content[best].Value)) {
					best = i
				}
			}
			if best < 0 {
				return line, col
			}
			key := n.Content[best]
			line, col = key.Line, key.Column
			n, rest = n.Content[best+1], strings.TrimPrefix(rest[len(key.Value):], ".")
		default:
			return line, col
		}
	}
	return line, col
}

// Annotate gives every FieldError in err (a single error or an errors.Join of them) the line and
// column of its path in data. Other errors are kept as they are.
func Annotate(err error, data []byte) error {
	if err == nil {
		return nil
	}
	pos := NewPositions(data)
	var out []error
	for _, e := range Flatten(err) {
		var fe *FieldError
		if errors.As(e, &fe) && fe.Line == 0 {
			c := *fe
			c.Line, c.Col = pos.Locate(fe.Path)
			e = &c
		}
		out = append(out, e)
	}
	// Document order, so a reader fixes the file top to bottom; unplaced errors last.
	slices.SortStableFunc(out, func(a, b error) int {
		la, ca := placeOf(a)
		lb, cb := placeOf(b)
		return cmp.Or(cmp.Compare(la, lb), cmp.Compare(ca, cb))
	})
	return errors.Join(out...)
}

// placeOf is an error's line and column for sorting; an unplaced error sorts last.
func placeOf(err error) (int, int) {
	var fe *FieldError
	if errors.As(err, &fe) && fe.Line > 0 {
		return fe.Line, fe.Col
	}
	return math.MaxInt, 0
}

// Flatten lists the errors an errors.Join tree holds, in order, looking through a wrapper
// around a join (a failure.Error classifying a whole config's problems).
func Flatten(err error) []error {
	if err == nil {
		return nil
	}
	if w, ok := err.(interface{ Unwrap() error }); ok {
		if inner := w.Unwrap(); inner != nil {
			if _, join := inner.(interface{ Unwrap() []error }); join {
				return Flatten(inner)
			}
		}
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Flatten(e)...)
		}
		return out
	}
	return []error{err}
}
