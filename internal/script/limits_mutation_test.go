package script

import (
	"context"
	"runtime/metrics"
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
