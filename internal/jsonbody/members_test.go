package jsonbody

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// model is the obvious ordered object (a map plus the key order) that Object's member slices
// and lazy index must behave like, on either side of indexFrom.
type model struct {
	keys  []string
	vals  map[string]string
	plain map[string]bool // set by SetPlainString (Member's plain, for a position under 64)
}

func (m *model) set(k, v string) {
	if _, ok := m.vals[k]; !ok {
		m.keys = append(m.keys, k)
	}
	m.vals[k] = v
	delete(m.plain, k)
}

func (m *model) del(k string) {
	if _, ok := m.vals[k]; ok {
		delete(m.vals, k)
		m.keys = slices.DeleteFunc(m.keys, func(x string) bool { return x == k })
	}
}

func (m *model) marshal() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range m.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		q, _ := json.Marshal(k)
		b.Write(q)
		b.WriteByte(':')
		b.WriteString(m.vals[k])
	}
	b.WriteByte('}')
	return b.String()
}

// TestObjectMatchesModel parses objects of 0 to 3*indexFrom keys (some escaped), then applies
// random sets and deletes, comparing keys, lookups and the serialization with the model after
// every step; duplicates are refused wherever they are, with or without the index.
func TestObjectMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, indexFrom - 1, indexFrom, indexFrom + 1, 3 * indexFrom} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			m := &model{vals: map[string]string{}, plain: map[string]bool{}}
			var src strings.Builder
			src.WriteString("{ ")
			for i := range n {
				k := fmt.Sprintf("k%d", i)
				qk := `"` + k + `"`
				if i%5 == 3 { // an escaped key reads as its text
					qk = `"k\u0031` + k[1:] + `x"`
					k = "k1" + k[1:] + "x"
				}
				if i > 0 {
					src.WriteString(" , ")
				}
				v := fmt.Sprint(i)
				m.set(k, v)
				fmt.Fprintf(&src, "%s : %s", qk, v)
			}
			src.WriteString(" }")
			o, err := Parse([]byte(src.String()))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			check := func(step string) {
				t.Helper()
				if !slices.Equal(o.Keys(), m.keys) || string(o.Marshal()) != m.marshal() || o.Len() != len(m.keys) {
					t.Fatalf("%s: object %s, model %s", step, o.Marshal(), m.marshal())
				}
				for i, k := range m.keys {
					if raw, ok := o.Raw(k); !ok || string(raw) != m.vals[k] {
						t.Fatalf("%s: Raw(%q) = %s, %v; want %s", step, k, raw, ok, m.vals[k])
					}
					if _, _, plain := o.Member(i); plain != (m.plain[k] && i < 64) {
						t.Fatalf("%s: Member(%d) (%q) plain = %v, want %v", step, i, k, plain, m.plain[k] && i < 64)
					}
				}
				if _, ok := o.Raw("absent"); ok {
					t.Fatalf("%s: Raw of an absent key found it", step)
				}
			}
			check("parse")
			parsed := slices.Clone(m.keys)
			for i := range 4 * indexFrom {
				k := fmt.Sprintf("k%d", rng.IntN(n+indexFrom+1))
				if rng.IntN(3) == 0 {
					before := slices.Clone(o.Keys())
					held := o.Keys()
					o.Delete(k)
					m.del(k)
					if !slices.Equal(held, before) {
						t.Fatalf("Delete changed a key slice returned before it")
					}
				} else if rng.IntN(2) == 0 {
					v := fmt.Sprint(i * 7)
					o.SetRaw(k, json.RawMessage(v))
					m.set(k, v)
				} else {
					v := fmt.Sprintf(`"QUJD%d"`, i)
					o.SetPlainString(k, json.RawMessage(v))
					m.set(k, v)
					m.plain[k] = true
				}
				check(fmt.Sprintf("step %d (%s)", i, k))
			}
			if n == 0 {
				return
			}
			for _, at := range []int{0, n / 2, n - 1} {
				dup := strings.Replace(src.String(), " }", fmt.Sprintf(` , %q : 0 }`, parsed[at]), 1)
				if _, err := Parse([]byte(dup)); err == nil || !strings.Contains(err.Error(), "twice") {
					t.Errorf("duplicate of key %d in %d keys: err = %v", at, n, err)
				}
			}
		})
	}
}

// TestValidAcrossShallowDepth: containers past the scanner's inline stack (shallowDepth) are
// matched as the ones within it, mismatches included, as encoding/json judges them.
func TestValidAcrossShallowDepth(t *testing.T) {
	for depth := shallowDepth - 2; depth <= shallowDepth+3; depth++ {
		var open, closed strings.Builder
		for i := range depth {
			if i%2 == 0 {
				open.WriteString(`{"k":`)
			} else {
				open.WriteString(`[1,`)
			}
		}
		for i := depth - 1; i >= 0; i-- {
			if i%2 == 0 {
				closed.WriteString(`}`)
			} else {
				closed.WriteString(`]`)
			}
		}
		good := open.String() + "0" + closed.String()
		swapped := open.String() + "0" + strings.NewReplacer("]", "}", "}", "]").Replace(closed.String())
		for _, text := range []string{good, swapped, good[:len(good)-1], good + "]"} {
			if got, want := Valid([]byte(text)), json.Valid([]byte(text)); got != want {
				t.Errorf("depth %d: Valid(%s) = %v, encoding/json says %v", depth, text, got, want)
			}
		}
	}
}

// TestWordMayStopNeverMisses: every stop byte, at every position of a word, with any filler
// around it (the borrow trick must not be fooled by neighbours), is seen.
func TestWordMayStopNeverMisses(t *testing.T) {
	for _, fill := range []byte{'a', 0x00, 0x1f, 0x20, '"' + 1, '\\' + 1, 0x7f, 0x80, 0xff} {
		for c := range 256 {
			for pos := range 8 {
				var w [8]byte
				for i := range w {
					w[i] = fill
				}
				w[pos] = byte(c)
				any := false
				for _, x := range w {
					any = any || stringStop[x]
				}
				if any && !wordMayStop(binary.LittleEndian.Uint64(w[:])) {
					t.Fatalf("word % x holds a stop byte, wordMayStop says no", w)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		x := rng.Uint64()
		any := false
		for i := range 8 {
			any = any || stringStop[byte(x>>(8*i))]
		}
		if any && !wordMayStop(x) {
			t.Fatalf("word %#x holds a stop byte, wordMayStop says no", x)
		}
	}
}
