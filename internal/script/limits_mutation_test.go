package script

import (
	"context"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"

	"github.com/dop251/goja"

	"github.com/keygate/keygate/internal/config"
)

// The memory budget has three guards: an estimate that refuses a call before it allocates
// (need, the stringify estimate), the charge of what a call made (charge), and the heap
// watchdog. A bomb the estimate lets through is still stopped by the charge or the watchdog,
// after it allocated: so the tests of the estimates below say which guard stopped the call
// (the estimate's message ends with refusedEarly) and read the meter itself.

// runMetered runs body as the request function under a memory budget and returns the bytes the
// invocation charged to its meter (read as the function returns) and its error.
func runMetered(t *testing.T, body string, memory int64) (int64, error) {
	t.Helper()
	return runMeteredWith(t, config.Script{Inline: reqHead + body + "\n}", MemoryBytes: memory})
}

// runMeteredWith is runMetered for a whole script config (its secrets' roles).
func runMeteredWith(t *testing.T, cfg config.Script) (int64, error) {
	t.Helper()
	step, err := Compile(cfg, testBuild(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var used int64
	err = step.call(context.Background(), newExchange("/p", `{}`, nil), func(v *vm) error {
		args := append([]goja.Value{v.objs.headers, v.objs.params, v.objs.body}, step.commonArgs(v)...)
		_, err := v.req(goja.Undefined(), args...)
		used = v.st.mem.used
		return err
	})
	return used, err
}

// heapAllocs is every byte the process has allocated on the heap so far.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestEstimatesRefuseBombsBeforeTheyAllocate: repeat, padEnd, replace and replaceAll are
// refused on their estimate, before goja builds the string: the error says the call was
// refused before it ran, and the heap did not grow by what the call would have made. With a
// weakened estimate (`L / n` for `L * n`, `1 - r` for `1 + r`) the same scripts fail too, but
// later: the string is built and then its charge goes over the budget.
func TestEstimatesRefuseBombsBeforeTheyAllocate(t *testing.T) {
	const budget = 1 << 20
	for _, tc := range []struct {
		name, body string
		makes      uint64 // bytes the call would allocate
	}{
		{"repeat", `'x'.repeat(8 << 20)`, 8 << 20},
		// The estimate is two bytes a character: halved, 2 MiB characters would pass it.
		{"padEnd", `'ab'.padEnd(2 << 20)`, 2 << 20},
		{"replace", `'a'.repeat(1000).replace(/a/g, 'b'.repeat(4000))`, 4_000_000},
		{"replace of a string pattern", `('a' + 'b'.repeat(1000)).replace('a', 'c'.repeat(4000))`, 5000},
		{"replaceAll", `'a'.repeat(1000).replaceAll('a', 'b'.repeat(4000))`, 4_000_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			step, err := Compile(config.Script{Inline: reqHead + tc.body + "\n}", MemoryBytes: budget}, testBuild(t), Options{})
			if err != nil {
				t.Fatal(err)
			}
			before := heapAllocs()
			err = step.SignRequest(context.Background(), newExchange("/p", `{}`, nil))
			grew := heapAllocs() - before
			if err == nil || !strings.Contains(err.Error(), refusedEarly) {
				t.Errorf("err = %v, want the call refused on its estimate (%q)", err, refusedEarly)
			}
			t.Logf("the heap grew by %d bytes", grew)
			if tc.makes >= 1<<20 && grew >= tc.makes/2 {
				t.Errorf("the heap grew by %d bytes: the call allocated before it was refused", grew)
			}
		})
	}
}

// TestEstimatesAtTheBudgetAreAllowed: a call whose estimate is exactly what is left of the
// budget runs (and its result, charged, fits exactly); one byte more is refused before it
// runs. repeat estimates its result, padEnd two bytes a character, replace and replaceAll the
// string times one plus the replacement's length.
func TestEstimatesAtTheBudgetAreAllowed(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		budget     int64 // the least budget that lets body run
		used       int64 // what body charges
	}{
		{"repeat", `'x'.repeat(1000)`, 1000, 1000},
		{"padEnd", `'ab'.padEnd(1000)`, 2000, 1000},
		// 100 + 99 for the two repeats, then 100 * (1 + 99) for replaceAll's estimate; it makes 9,900.
		{"replaceAll", `'a'.repeat(100).replaceAll('a', 'b'.repeat(99))`, 199 + 100*100, 199 + 9900},
		// The two repeats (a concatenation is not a built-in call), then 100 * (1 + 99) for
		// replace's estimate of a 100-character string; it makes 99 + 99 characters.
		{"replace", `('a' + 'c'.repeat(99)).replace('a', 'b'.repeat(99))`, 99 + 99 + 100*100, 99 + 99 + 198},
		// (L + 1) * 24 for a split into L one-character strings, charged 16 bytes an element.
		{"split", `'x'.repeat(100).split('')`, 100 + 101*24, 100 + 100*16},
		{"toUpperCase", `'x'.repeat(100).toUpperCase()`, 100 + 3*100, 100 + 100},
		// fill checks 16 bytes an element and returns its own array (charged nothing); keys
		// checks 48 bytes an element and makes 100 keys.
		{"Object.keys", `Object.keys(new Array(100).fill(0))`, 100 * 48, 100 * 16},
		{"Array.from", `Array.from({length: 100})`, 100 * 16, 100 * 16},
		{"apply", `Math.max.apply(null, {length: 100})`, 100 * 16, 0},
		// 101 characters of JSON text, 8 bytes a character; it makes 50 elements.
		{"JSON.parse", `JSON.parse('[' + '0,'.repeat(49) + '0]')`, 98 + 101*8, 98 + 50*16},
		{"typed array of a length", `new Float64Array(1000)`, 8000, 8000},
		{"typed array of an array-like", `new Float64Array({length: 1000})`, 8000, 8000},
		// An iterator checks what iterating it all would make: 16 bytes an element, 48 for
		// entries' pairs; a spread then makes its array uncharged.
		{"keys", `new Array(100).fill(0).keys()`, 1600, 0},
		{"entries", `new Array(100).fill(0).entries()`, 4800, 0},
		{"string iterator", `[...'x'.repeat(100)]`, 100 + 1600, 100},
		// Any other array method: 16 bytes an element (fill returns its own array: no charge).
		{"fill", `new Array(100).fill(0)`, 1600, 0},
		// join sums its elements (a separator of one character counts two: 1 + its length)
		// after checking 16 bytes an element; it makes 10 * 1000 + 9 characters.
		{"join", `var s = 'x'.repeat(1000); new Array(10).fill(s).join(',')`, 1000 + 10*1002, 1000 + 10009},
		{"join of holes", `new Array(100).join('')`, 1600, 0},
		// An array in itself counts 16 bytes an element (what the walk starts it at): 3 for 'x'
		// and the two separators, 32 for the cycle; goja joins it as "x".
		{"join of a cycle", `var a = ['x', 0]; a[1] = a; a.join('')`, 35, 1},
		// A typed array's join: its length times one plus the separator, 8 bytes each.
		{"typed array join", `new Uint8Array(100).join(',')`, 100 + 100*2*8, 100 + 199},
		// flat walks nested arrays: ten references to one array of 100 make 1000 elements.
		{"flat", `var a = new Array(100).fill(0); new Array(10).fill(a).flat()`, 16000, 16000},
		{"flat of holes", `new Array(100).flat()`, 1600, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			used, err := runMetered(t, tc.body, tc.budget)
			if err != nil {
				t.Fatalf("at the budget: %v", err)
			}
			if used != tc.used {
				t.Errorf("charged %d bytes, want %d", used, tc.used)
			}
			_, err = runMetered(t, tc.body, tc.budget-1)
			if err == nil || !strings.Contains(err.Error(), refusedEarly) {
				t.Fatalf("one byte under: err = %v, want the call refused on its estimate", err)
			}
		})
	}
}

// TestStringifyEstimateAtTheBudget: JSON.stringify of an object is refused, before goja builds
// the text, once its estimate (per member: the key, 4, the indentation times the depth, six
// times a string value, 24) is more than what is left of the budget; at exactly what is left it
// runs. The text it makes, charged after, is much smaller than the estimate, so only the
// estimate tells the two budgets apart.
func TestStringifyEstimateAtTheBudget(t *testing.T) {
	const n = 1000 // the string's length, charged when repeat makes it
	body := `var s = 'x'.repeat(1000); JSON.stringify({a: s}, null, 2)`
	// The holder's member "" (the object, depth 1): 0 + 4 + 2*1 + 0 + 24; then "a" (depth 2):
	// 1 + 4 + 2*2 + 6*1000 + 24.
	estimate := int64(30 + 6*n + 33)
	used, err := runMetered(t, body, n+estimate)
	if err != nil {
		t.Fatalf("at the budget: %v", err)
	}
	if want := int64(n + len("{\n  \"a\": \"\"\n}") + n); used != want {
		t.Errorf("charged %d bytes, want %d (the string and the text)", used, want)
	}
	if _, err := runMetered(t, body, n+estimate-1); err == nil || !strings.Contains(err.Error(), refusedEarly) {
		t.Fatalf("one byte under: err = %v, want the call refused on its estimate", err)
	}
}

// TestStringifyOfAPrimitiveIsChargedNotEstimated: a string (or number) alone is stringified
// without the counting replacer: its text is at most six times a string the script already
// holds, and it is charged in full when made. So a string whose text fits is not refused on the
// six-times estimate that applies to an object's members.
func TestStringifyOfAPrimitiveIsChargedNotEstimated(t *testing.T) {
	used, err := runMetered(t, `var s = 'x'.repeat(1000); JSON.stringify(s)`, 2002)
	if err != nil {
		t.Fatal(err)
	}
	if used != 2002 {
		t.Errorf("charged %d bytes, want 2002 (the string and its quoted text)", used)
	}
}

// TestFixedOverheadsAreCharged: the built-ins that make a ciphertext or a derived secret charge
// its bytes plus a fixed overhead known in advance: CBC's padding block and GCM's tag (16 bytes)
// and, for a derived secret, its handle (64 bytes), which lives until the invocation ends. Each
// is read off the meter as the difference the call makes.
func TestFixedOverheadsAreCharged(t *testing.T) {
	roles := map[string]config.ScriptSecret{"other": {Role: "hmac_key", Chain: 2}}
	for _, tc := range []struct {
		name, before, call string
		want               int64
	}{
		{"cbc", `var p = 'x'.repeat(100)`, `aes_cbc_pkcs5_encrypt("0000000000000000", p, "1111111111111111")`, 100 + 16},
		{"gcm", `var p = 'x'.repeat(100)`, `aes_gcm_encrypt("0000000000000000", p, "000000000000")`, 100 + 16},
		{"derived", `var k = secret("other")`, `hmac_sha256_bytes(k, "20240101")`, 32 + 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Script{Inline: reqHead + tc.before + "\n}", MemoryBytes: 1 << 20, Secrets: roles}
			base, err := runMeteredWith(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Inline = reqHead + tc.before + "; " + tc.call + "\n}"
			used, err := runMeteredWith(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if used-base != tc.want {
				t.Errorf("%s charged %d bytes, want %d", tc.call, used-base, tc.want)
			}
		})
	}
}

// TestApplyWithoutAnArgumentList: fn.apply(thisArg) has no argument list to estimate.
func TestApplyWithoutAnArgumentList(t *testing.T) {
	step := compileInline(t, reqHead+`reqBody.set('m', String(Math.max.apply(null)))
}`, Options{})
	x := newExchange("/p", `{}`, nil)
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if got := string(x.Request.Body()); got != `{"m":"-Infinity"}` {
		t.Fatalf("body %s", got)
	}
}

// TestJSONParseNestingLimitIsInclusive: JSON.parse takes text nested exactly maxJSONDepth
// levels deep and refuses one level more, before goja recurses into it. Only nesting counts:
// arrays side by side, and brackets inside strings (after an escaped quote too), do not.
func TestJSONParseNestingLimitIsInclusive(t *testing.T) {
	deep := func(n int) string {
		return `JSON.parse('['.repeat(` + strconv.Itoa(n) + `) + ']'.repeat(` + strconv.Itoa(n) + `))`
	}
	for _, tc := range []struct{ body, want string }{
		{deep(maxJSONDepth), ""},
		{deep(maxJSONDepth + 1), "nesting deeper than 512 levels"},
		{`JSON.parse('[0,'.repeat(513) + '0' + ']'.repeat(513))`, "nesting deeper than 512 levels"},
		{`JSON.parse('[' + '[],'.repeat(1000) + '[]]')`, ""},
		{`JSON.parse('["' + '['.repeat(1000) + '"]')`, ""},
		{`JSON.parse('["a\\"' + '['.repeat(1000) + '"]')`, ""},
		{`JSON.parse('["a\\"' + '['.repeat(1000) + '"' + '['.repeat(600) + ']'.repeat(601))`, "nesting deeper than 512 levels"},
	} {
		_, err := runMetered(t, tc.body, DefaultMemory)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.body, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want %q", tc.body, err, tc.want)
		}
	}
}

// TestAmplifiersWithoutArguments: repeat, padStart and padEnd without their count make nothing
// (the estimate reads an absent argument as 0).
func TestAmplifiersWithoutArguments(t *testing.T) {
	step := compileInline(t, reqHead+`reqBody.set('s', 'x'.repeat() + 'ab'.padEnd() + 'ab'.padStart())
}`, Options{})
	x := newExchange("/p", `{}`, nil)
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if got := string(x.Request.Body()); got != `{"s":"abab"}` {
		t.Fatalf("body %s", got)
	}
}

// TestArrayIteratorIsValues: wrapping the array iterators keeps Array.prototype[Symbol.iterator]
// the same function as Array.prototype.values, as ECMAScript has it.
func TestArrayIteratorIsValues(t *testing.T) {
	step := compileInline(t, reqHead+`reqBody.set('same', [][Symbol.iterator] === [].values)
}`, Options{})
	x := newExchange("/p", `{}`, nil)
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if got := string(x.Request.Body()); got != `{"same":true}` {
		t.Fatalf("body %s", got)
	}
}

// TestTypedArrayOfANumber: Float64Array.of(n) makes one element, whatever n: its estimate is
// its argument count, not its first argument (which from reads as a length).
func TestTypedArrayOfANumber(t *testing.T) {
	step := compileInline(t, reqHead+`reqBody.set('n', Float64Array.of(1e9).length + Float64Array.from({length: 2}).length)
}`, Options{})
	x := newExchange("/p", `{}`, nil)
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if got := string(x.Request.Body()); got != `{"n":3}` {
		t.Fatalf("body %s", got)
	}
}

// TestJoinEstimateStopsOnlyPastTheBudget: the sum of a join's elements stops as soon as it is
// past what is left of the budget; a sum that reaches exactly what is left partway through goes
// on (stopping there would return an estimate that fits for a join that does not).
func TestJoinEstimateStopsOnlyPastTheBudget(t *testing.T) {
	// 1000 for the string, then 1002 an element: what is left is used up by the fifth element.
	_, err := runMetered(t, `var s = 'x'.repeat(1000); new Array(10).fill(s).join(',')`, 1000+5*1002)
	if err == nil || !strings.Contains(err.Error(), refusedEarly) {
		t.Fatalf("err = %v, want the join refused on its estimate", err)
	}
}

// TestJoinNestingLimitIsInclusive: join's estimate walks arrays nested maxJSONDepth levels deep
// and refuses one level more.
func TestJoinNestingLimitIsInclusive(t *testing.T) {
	for depth, want := range map[int]string{maxJSONDepth: "", maxJSONDepth + 1: "nested deeper than 512 levels"} {
		_, err := runMetered(t, `var a = []; for (var i = 0; i < `+strconv.Itoa(depth)+`; i++) a = [a]; String(a)`, DefaultMemory)
		switch {
		case want == "" && err != nil:
			t.Errorf("depth %d: %v", depth, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("depth %d: err = %v, want %q", depth, err, want)
		}
	}
}

// TestWrappedConstructorsKeepTheirStatics: the wrapped typed array and ArrayBuffer
// constructors keep the originals' own static members.
func TestWrappedConstructorsKeepTheirStatics(t *testing.T) {
	step := compileInline(t, reqHead+`reqBody.set('s', [Float64Array.BYTES_PER_ELEMENT, Uint16Array.BYTES_PER_ELEMENT,
    ArrayBuffer.isView(new Uint8Array(1)), ArrayBuffer.isView(new ArrayBuffer(1)), Uint8Array.of(7)[0]].join())
}`, Options{})
	x := newExchange("/p", `{}`, nil)
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if got := string(x.Request.Body()); got != `{"s":"8,2,true,false,7"}` {
		t.Fatalf("body %s", got)
	}
}
