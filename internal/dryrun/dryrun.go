// Package dryrun runs keygate's signing pipeline on a raw HTTP/1.1 request and prints what would
// leave for the provider: `keygate sign` and the admin API's dry run. It calls the same
// gateway.Call the ext_proc server calls; only the input and output are different.
package dryrun

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/redact"
	"github.com/keygate/keygate/keystore"
	"github.com/keygate/keygate/signer"
)

// Input is one dry run.
type Input struct {
	Provider string
	Tenant   string // "" = the provider's own tenant
	Request  []byte // raw HTTP/1.1 request as a service sends it to the egress
	Response []byte // optional raw HTTP/1.1 response from the provider
	// ChosenResponse: Response was pasted by a caller who may not see secrets (the admin API's
	// redacted runs), so it is not the provider's: signer.Response.Chosen. `keygate sign` runs
	// with the config's own keystore login and may decrypt a captured answer.
	ChosenResponse bool
	Clock          signer.Clock
	Reveal         bool            // print secret values
	Keys           keystore.Getter // to find the provider's secret values for redaction
	// FetchToken lets the dry run use the provider's token source as a request would: the
	// cached token, or a fetch from the token endpoint. Without it the dry run sends nothing:
	// the token is PlaceholderToken and every HTTP call a step or script makes is refused.
	FetchToken bool
	// Explain records what each step signs (canonical request, string to sign, signature
	// base), for a provider that answers "signature mismatch" (Result.Explain).
	Explain bool
}

// Result is a dry run's output.
type Result struct {
	// Output is the raw request that would leave, followed, when Input.Response is set, by a
	// blank line and the processed response.
	Output []byte
	// Request is the request that would leave and Response the processed response (nil
	// without Input.Response): Output's two parts, redacted like it.
	Request, Response []byte
	// Notes say what the dry run did not do (the token it did not fetch), for the reader.
	Notes []string
	// Explain lists, in order, what the steps signed, redacted like Output (Input.Explain).
	Explain []string
	// Timings is the time each stage took, in pipeline order (stages that took none left out).
	Timings []Timing
}

// Timing is one stage of a dry run: the pipeline's stages (signer.Stage) per phase, plus the
// dry run's own parse and redact.
type Timing struct {
	Phase  string `json:"phase"` // dry_run, request or response
	Stage  string `json:"stage"`
	Micros int64  `json:"us"`
}

// timings records a dry run's stages as they finish.
type timings []Timing

func (t *timings) add(phase, stage string, d time.Duration) {
	if d > 0 {
		*t = append(*t, Timing{Phase: phase, Stage: stage, Micros: max(d.Microseconds(), 1)})
	}
}

// addStages records the pipeline's stage times of one phase: now less what before held.
func (t *timings) addStages(phase string, now, before signer.StageTimes) {
	for s := range signer.NumStages {
		t.add(phase, s.String(), now[s]-before[s])
	}
}

// Run signs in.Request as the pipeline would and returns what would leave. It sends nothing
// unless in.FetchToken.
func Run(ctx context.Context, snap *gateway.Snapshot, in Input) (Result, error) {
	var explain *[]string
	if in.Explain {
		explain = new([]string)
	}
	var tm timings
	var parts [2][]byte
	out, notes, err := run(ctx, snap, in, explain, &tm, &parts)
	res := Result{Output: out, Request: parts[0], Response: parts[1], Notes: notes, Timings: tm}
	if explain != nil {
		res.Explain = *explain
	}
	return res, err
}

func run(ctx context.Context, snap *gateway.Snapshot, in Input, explain *[]string, tm *timings, parts *[2][]byte) ([]byte, []string, error) {
	start := time.Now()
	p, ok := snap.ProviderByName(in.Provider)
	if !ok {
		names := make([]string, 0)
		for _, pr := range snap.Providers() {
			names = append(names, pr.Name)
		}
		return nil, nil, fmt.Errorf("--provider %q is not in the config (providers: %s)", in.Provider, strings.Join(names, ", "))
	}
	br := bufio.NewReader(bytes.NewReader(in.Request))
	hr, err := http.ReadRequest(br)
	if err != nil {
		return nil, nil, fmt.Errorf("request is not raw HTTP/1.1: %w", err)
	}
	body, err := io.ReadAll(hr.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("request body: %w", err)
	}
	if len(body) == 0 && hr.Header.Get("Content-Length") == "" && len(hr.TransferEncoding) == 0 {
		// A request file written by hand often has no Content-Length: the body is the rest of
		// the file, as a user reading it would expect.
		body, _ = io.ReadAll(br)
	}
	header := hr.Header.Clone()
	header.Del("Content-Length")
	call, err := snap.BeginWith(p, gateway.Inbound{
		Method: hr.Method, Authority: hr.Host, Path: hr.RequestURI, Header: header,
		BodySize: int64(len(body)), Operator: &gateway.OperatorTenant{Tenant: in.Tenant},
	}, in.Clock)
	if err != nil {
		return nil, nil, err
	}
	var explained []string
	if explain != nil {
		call.Exchange.Explain = func(step, what, text string) {
			explained = append(explained, fmt.Sprintf("%s, %s (%d bytes):\n%s", step, what, len(text), text))
		}
	}
	var placeholder *placeholderTokens
	if call.Exchange.Tokens != nil && !in.FetchToken {
		placeholder = &placeholderTokens{}
		call.Exchange.Tokens = placeholder
	}
	if !in.FetchToken {
		ctx = Offline(ctx)
	}
	if len(body) == 0 {
		body = nil
	}
	tm.add("dry_run", "parse", time.Since(start))
	if err := call.SignRequest(ctx, body); err != nil {
		return nil, nil, scrub(ctx, call, in, err)
	}
	signed := call.Exchange.Timing
	tm.addStages("request", signed, signer.StageTimes{})
	var out bytes.Buffer
	if err := call.Exchange.Request.WriteHTTP1(&out); err != nil {
		return nil, nil, err
	}
	reqLen := out.Len()
	if in.Response != nil {
		resp, err := processResponse(ctx, call, in, in.Response)
		if err != nil {
			return nil, nil, scrub(ctx, call, in, err)
		}
		tm.addStages("response", call.Exchange.Timing, signed)
		out.WriteString("\r\n")
		writeResponse(&out, resp)
	}
	var notes []string
	if placeholder != nil && placeholder.used {
		notes = append(notes, fmt.Sprintf("the provider's token was not fetched: %s stands in for it (--fetch-token, or fetch_token=true in the admin API, uses the real one and may make the token endpoint issue a new token)", PlaceholderToken))
	}
	all := out.Bytes()
	if in.Reveal {
		if explain != nil {
			*explain = explained
		}
		parts[0] = all[:reqLen]
		if in.Response != nil {
			parts[1] = all[reqLen+2:]
		}
		return all, notes, nil
	}
	redactStart := time.Now()
	set := redactions(ctx, call, in.Keys)
	if explain != nil {
		for _, s := range explained {
			*explain = append(*explain, string(set.Apply([]byte(s))))
		}
	}
	// Each part is redacted on its own too: a value split across the boundary is in neither.
	parts[0] = set.Apply(all[:reqLen])
	if in.Response != nil {
		parts[1] = set.Apply(all[reqLen+2:])
	}
	redacted := set.Apply(all)
	tm.add("dry_run", "redact", time.Since(redactStart))
	return redacted, notes, nil
}

// scrub redacts a failed dry run's error text as its output would be: a step's or a script's
// error must not carry a secret value to the caller (or into the audit log) either. The
// error's kind and stage stay.
func scrub(ctx context.Context, call *gateway.Call, in Input, err error) error {
	if in.Reveal {
		return err
	}
	msg := err.Error()
	clean := string(redactions(ctx, call, in.Keys).Apply([]byte(msg)))
	if clean == msg {
		return err
	}
	return &scrubbed{msg: clean, err: err}
}

// scrubbed is an error whose text was redacted; Unwrap keeps its classification.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// processResponse runs the pasted answer raw through the provider's response steps, marked
// as the caller's choice when it is one (Input.ChosenResponse).
func processResponse(ctx context.Context, call *gateway.Call, in Input, raw []byte) (*signer.Response, error) {
	hr, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		return nil, fmt.Errorf("response is not raw HTTP/1.1: %w", err)
	}
	body, err := io.ReadAll(hr.Body)
	if err != nil {
		return nil, fmt.Errorf("response body: %w", err)
	}
	resp := &signer.Response{Status: hr.StatusCode, Header: hr.Header, Body: body, Chosen: in.ChosenResponse}
	if err := call.ProcessResponse(ctx, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

func writeResponse(w *bytes.Buffer, r *signer.Response) {
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\n", r.Status, http.StatusText(r.Status))
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		if k != "Content-Length" && k != "Transfer-Encoding" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range r.Header[k] {
			fmt.Fprintf(w, "%s: %s\r\n", k, v)
		}
	}
	w.WriteString("Content-Length: " + strconv.Itoa(len(r.Body)) + "\r\n\r\n")
	w.Write(r.Body)
}

// redactions collects what must not be printed: what steps marked sensitive, and, as a
// backstop, every KV secret the provider references and its current token, in every form.
func redactions(ctx context.Context, call *gateway.Call, keys keystore.Getter) *redact.Set {
	var set redact.Set
	for _, s := range call.Exchange.Sensitive {
		if strings.Contains(s, PlaceholderToken) {
			continue // the placeholder stays visible: it is no secret, and says what was not fetched
		}
		set.AddExact([]byte(s)) // tainted by a step: redacted at any length
		set.AddBytes([]byte(s))
	}
	if keys != nil {
		for _, ref := range call.Provider.Secrets {
			if ref.Kind != keystore.KV {
				continue
			}
			if s, err := keys.Get(ctx, ref); err == nil {
				set.Add(s.Value)
			}
		}
	}
	if ts := call.Provider.Tokens; ts != nil {
		if tok, ok := ts.Load(ctx); ok {
			set.Add(tok)
		}
	}
	return &set
}
