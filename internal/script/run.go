package script

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/signer"
)

// SignRequest runs the request function:
// (reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV, PrefixUrl, TokenUrl).
func (s *Step) SignRequest(ctx context.Context, x *signer.Exchange) error {
	return s.call(ctx, x, func(v *vm) error {
		args := append([]goja.Value{v.objs.headers, v.objs.params, v.objs.body}, s.commonArgs(v)...)
		_, err := v.req(goja.Undefined(), args...)
		return err
	})
}

// commonArgs are AppKey, AesKey, AesIV, PrefixUrl, TokenUrl: an undeclared value is undefined.
func (s *Step) commonArgs(v *vm) []goja.Value {
	rt := v.rt
	out := []goja.Value{goja.Undefined(), goja.Undefined(), goja.Undefined(), rt.ToValue(s.prefix), rt.ToValue(s.opts.TokenURL)}
	if s.appKey != nil {
		out[0] = rt.ToValue(*s.appKey)
	}
	for i, name := range []string{aesKeyName, aesIVName} {
		if _, ok := s.secrets[name]; ok {
			out[1+i] = rt.ToValue(v.st.handles.named(name))
		}
	}
	return out
}

// call runs fn in a pooled runtime under the time limit and turns what happened into an error.
// A runtime that was interrupted, overflowed or panicked is dropped, not pooled.
func (s *Step) call(ctx context.Context, x *signer.Exchange, fn func(*vm) error) (err error) {
	start, mark := time.Now(), x.Timing.Sum()
	defer x.Timing.AddExclusive(signer.StageScript, start, mark)
	// The slot comes first: creating a runtime is CPU work too.
	sl := slot{tenant: fairShare(x)}
	if err := sl.acquire(ctx); err != nil {
		return failure.Wrap(failure.Timeout, "script", err, "waiting for a processor to run the script")
	}
	v, err := s.get()
	if err != nil {
		sl.release()
		return failure.Wrap(failure.Internal, "script", err, "")
	}
	st := v.st
	st.slot = sl
	st.begin(ctx, x)
	watcher.start(st, st.mem.limit)
	healthy := false
	defer func() {
		watcher.stop(st)
		st.end()
		st.slot.release()
		if healthy {
			s.put(v)
		}
	}()
	stopCtx := context.AfterFunc(ctx, func() { st.budget.fire(ctx.Err()) })
	st.budget.start(s.timeout)
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = failure.New(failure.Internal, "script", "script runtime failed")
				healthy = false
			}
		}()
		runErr := fn(v)
		err, healthy = s.classify(st, runErr)
	}()
	stopCtx()
	if fired := st.budget.stop(); fired != nil {
		healthy = false // an interrupt may still be pending in the runtime
	}
	return err
}

// classify maps the outcome of a run to a *failure.Error and says whether the runtime may be
// reused. It runs inside the time limit: reading a thrown object may run script code.
func (s *Step) classify(st *callState, runErr error) (error, bool) {
	if st.violation != nil {
		return st.violation, false
	}
	if runErr == nil {
		return nil, true
	}
	var ie *goja.InterruptedError
	if errors.As(runErr, &ie) {
		if e, ok := ie.Value().(error); ok {
			var fe *failure.Error
			if errors.As(e, &fe) {
				if fe == errTimedOut {
					return failure.New(failure.Timeout, "script", "script ran longer than %v", s.timeout), false
				}
				return fe, false
			}
			return failure.Wrap(failure.KindOf(e), "script", e, "script stopped"), false
		}
		return failure.New(failure.Internal, "script", "script interrupted"), false
	}
	var so *goja.StackOverflowError
	if errors.As(runErr, &so) {
		return failure.New(failure.Internal, "script", "script error: call stack deeper than %d frames", s.opts.MaxStackDepth), false
	}
	var fe *failure.Error
	if errors.As(runErr, &fe) {
		if fe.Kind == failure.Internal && st.absent != "" {
			return callerMistake(st, fe.Error()), true
		}
		return fe, true // a built-in's own failure (token endpoint down, bad body, ...)
	}
	if st.absent != "" {
		return callerMistake(st, "script error: "+s.describe(runErr)), true
	}
	return failure.New(failure.Internal, "script", "script error: %s", s.describe(runErr)), true
}

// callerMistake is a script failure that follows from the caller's request: the script read a
// body field the request does not have (a GET without a body, a field left out) and then
// failed. The built-in steps answer such a request 400; so does a script. A script that fails
// on a complete request is still a 500: that is the script's bug, not the caller's.
func callerMistake(st *callState, msg string) error {
	return failure.New(failure.BadRequest, "script",
		"the request has no body field %q, which the provider's script reads (%s)", st.absent, msg)
}

// maxMessage bounds the script's part of an error message.
const maxMessage = 512

// describe renders a JavaScript exception as "message at line:col" against the source as
// written. A message holding a secret handle is withheld.
func (s *Step) describe(err error) (out string) {
	var ex *goja.Exception
	if !errors.As(err, &ex) {
		return "the script failed"
	}
	defer func() {
		if recover() != nil {
			out = "the script threw a value that cannot be shown"
		}
	}()
	msg := ex.Value().String()
	if hasMarker(msg) {
		msg = "(message withheld: it held a secret handle)"
	}
	if len(msg) > maxMessage { // a message can quote a megabyte pattern or string
		msg = strings.ToValidUTF8(msg[:maxMessage], "") + "…"
	}
	for _, f := range ex.Stack() {
		p := f.Position()
		if p.Line > 0 && f.SrcName() == s.src.name {
			line, col := s.src.position(p.Line, p.Column)
			return fmt.Sprintf("%s at %d:%d", msg, line, col)
		}
	}
	return msg
}
