package emu

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// checkResult mirrors Envoy's mutation_rules CheckResult.
type checkResult int

const (
	checkOK     checkResult = iota
	checkIgnore             // the change is dropped (rejected_header_mutations)
	checkFail               // a hard error
)

type checkOp int

const (
	opSet checkOp = iota
	opAppend
	opRemove
)

// rulesChecker is common/mutation_rules Checker compiled from MutationRules.
type rulesChecker struct {
	r        MutationRules
	allow    *regexp.Regexp
	disallow *regexp.Regexp
}

func newRulesChecker(r MutationRules) (*rulesChecker, error) {
	c := &rulesChecker{r: r}
	var err error
	if r.AllowExpression != "" {
		if c.allow, err = regexp.Compile("^(?:" + r.AllowExpression + ")$"); err != nil {
			return nil, fmt.Errorf("mutation_rules.allow_expression: %w", err)
		}
	}
	if r.DisallowExpression != "" {
		if c.disallow, err = regexp.Compile("^(?:" + r.DisallowExpression + ")$"); err != nil {
			return nil, fmt.Errorf("mutation_rules.disallow_expression: %w", err)
		}
	}
	return c, nil
}

// routingHeaders are the headers whose change needs allow_all_routing; :path is not one.
var routingHeaders = map[string]bool{"host": true, ":authority": true, ":method": true, ":scheme": true}

// check mirrors Checker::check; the order of the tests is Envoy's and matters.
func (c *rulesChecker) check(op checkOp, name, value string) checkResult {
	if !validHeaderName(name) || (op != opRemove && !validHeaderValue(value)) {
		return checkFail
	}
	switch {
	case c.disallow != nil && c.disallow.MatchString(name):
		return checkIgnore
	case c.allow != nil && c.allow.MatchString(name):
		return checkOK
	case c.r.DisallowAll:
		return checkIgnore
	case routingHeaders[name] && !c.r.AllowAllRouting:
		return checkIgnore
	case strings.HasPrefix(name, ":") && (op == opAppend || c.r.DisallowSystem):
		return checkIgnore
	case strings.HasPrefix(name, "x-envoy") && !c.r.AllowEnvoy:
		return checkIgnore
	}
	return checkOK
}

// validHeaderName: an RFC 7230 token, optionally ':'-prefixed (Envoy lower-cases first).
func validHeaderName(name string) bool {
	n := strings.TrimPrefix(name, ":")
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		ch := n[i]
		if ch <= ' ' || ch >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", ch) >= 0 {
			return false
		}
	}
	return true
}

// validHeaderValue: no NUL, CR or LF (Envoy's headerValueIsValid).
func validHeaderValue(v string) bool { return !strings.ContainsAny(v, "\x00\r\n") }

// errHardMutation is a mutation error that ignores failure_mode_allow (local reply status_on_error).
var errHardMutation = errors.New("invalid header mutation")

// mutationLimits are the HCM header limits checked after a mutation.
type mutationLimits struct{ maxCount, maxBytes int }

// applyHeaderMutation mirrors MutationUtils::applyHeaderMutations: removals first, then sets in
// list order; only raw_value is read; only the legacy append flag is honoured. It returns the
// number of rejected (ignored) changes, and an error wrapping errHardMutation when Envoy would
// fail the request.
func applyHeaderMutation(m *extprocv3.HeaderMutation, h *headerMap, c *rulesChecker, lim mutationLimits) (int, error) {
	if m == nil {
		return 0, nil
	}
	rejected := 0
	reject := func(what string) error {
		rejected++
		if c.r.DisallowIsError {
			return fmt.Errorf("%w: %s disallowed by mutation rules", errHardMutation, what)
		}
		return nil
	}
	// MutationUtils::responseHeaderSizeCheck counts removals as well as sets against the
	// header-count limit, before anything is applied.
	if len(m.GetSetHeaders())+len(m.GetRemoveHeaders()) > lim.maxCount {
		return rejected, fmt.Errorf("%w: header mutation would exceed header count limit", errHardMutation)
	}
	for _, raw := range m.GetRemoveHeaders() {
		name := strings.ToLower(raw)
		if !validHeaderName(name) {
			return rejected, fmt.Errorf("%w: invalid character in remove_headers mutation", errHardMutation)
		}
		removable := !strings.HasPrefix(name, ":") && name != "host"
		if removable && c.check(opRemove, name, "") == checkOK {
			h.del(name)
			continue
		}
		if err := reject("remove " + name); err != nil {
			return rejected, err
		}
	}
	for _, sh := range m.GetSetHeaders() {
		hv := sh.GetHeader()
		if hv == nil {
			continue
		}
		if hv.GetValue() != "" && len(hv.GetRawValue()) > 0 {
			return rejected, fmt.Errorf("%w: both value and raw_value set for %q", errHardMutation, hv.GetKey())
		}
		name, value := strings.ToLower(hv.GetKey()), string(hv.GetRawValue())
		if !validHeaderName(name) || !validHeaderValue(value) {
			return rejected, fmt.Errorf("%w: invalid character in set_headers mutation", errHardMutation)
		}
		//lint:ignore SA1019 Envoy's ext_proc honours only the legacy append flag
		appendIt := sh.GetAppend().GetValue()
		op := opSet
		if appendIt && h.has(name) {
			op = opAppend
		}
		switch c.check(op, name, value) {
		case checkOK:
			if name == "host" {
				name = ":authority" // Envoy's HTTP/1 codec carries Host as :authority
			}
			if appendIt {
				h.add(name, value)
			} else {
				h.set(name, value)
			}
		case checkIgnore:
			if err := reject("set " + name); err != nil {
				return rejected, err
			}
		default:
			return rejected, fmt.Errorf("%w: invalid header %q", errHardMutation, name)
		}
	}
	if len(h.entries) > lim.maxCount || h.byteSize() > lim.maxBytes {
		return rejected, fmt.Errorf("%w: headers over the limits after mutation", errHardMutation)
	}
	return rejected, nil
}
