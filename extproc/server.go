// Package extproc is keygate's Envoy external processor (envoy.service.ext_proc.v3). The gRPC
// Process loop is thin: it reads a message, hands it to the stream's processor, and sends the
// processor's answer. All request logic lives in processor (Envoy's message rules) and in
// internal/gateway (signing).
//
// Fail-closed rule (../docs/envoy-ext-proc.md section 4): Envoy lets a request through
// UNMODIFIED when this server closes a stream cleanly. So Process returns nil only when Envoy
// itself ends the stream (io.EOF or cancellation); every failure is answered with an
// ImmediateResponse, and anything the processor cannot answer ends the stream with a non-OK
// status, which Envoy turns into a 500.
package extproc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"

	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/signer"
)

// Options configure a Server. Zero values get defaults in (Options).withDefaults.
type Options struct {
	Snapshots *gateway.Holder
	Logger    *slog.Logger
	Clock     signer.Clock // default signer.SystemClock()
	Observer  Observer     // metrics and audit; default none
	// RetryClient, when set, sends two-step verification's one retry to the provider (see
	// gateway.Call.Retry); default each provider's own client, configured like its cluster.
	RetryClient *http.Client
	// MaxMessageTimeout is the longest override_message_timeout keygate asks for (the token
	// retry); it must not exceed the filter's max_message_timeout (default xds's value, 60 s).
	MaxMessageTimeout time.Duration
	// MaxStreamDuration ends a stream open longer than this (default DefaultMaxStreamDuration):
	// Envoy's stream lives as long as one request, and an idle stream only holds memory.
	MaxStreamDuration time.Duration
	// MaxStreams bounds the streams open at once, over every connection (0: no bound). A stream
	// beyond it is refused with RESOURCE_EXHAUSTED, which Envoy answers with a 500: memory
	// stays bounded whatever a client of the port does.
	MaxStreams int
	// MemoryBudget bounds the memory the open streams hold for bodies, in bytes (0: no bound):
	// each body counts bodyCost times its size from the moment its size is known until the
	// stream ends. A request whose body does not fit is answered 503 (limits.ext_proc_memory_bytes).
	MemoryBudget int64
}

// DefaultMaxStreamDuration bounds a stream: above any route timeout plus the message timeouts
// of one request's phases.
const DefaultMaxStreamDuration = 5 * time.Minute

// Observer is told the outcome of every request phase. It must not block.
type Observer interface {
	Observe(Outcome)
}

// Outcome is one finished phase of one request.
type Outcome struct {
	Phase    string // "request" or "response"
	Tenant   string
	Provider string
	Schemes  []string
	Status   int    // 0 when the request went on to the provider
	Stage    string // failing stage, "" on success
	Err      error
	Duration time.Duration
	KeysUsed []signer.KeyUse
	// Stages is the time this phase spent per pipeline stage (signer.StageTimes); Duration is
	// the phase's total.
	Stages signer.StageTimes
}

type noObserver struct{}

func (noObserver) Observe(Outcome) {}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = signer.SystemClock()
	}
	if o.Observer == nil {
		o.Observer = noObserver{}
	}
	if o.MaxStreamDuration == 0 {
		o.MaxStreamDuration = DefaultMaxStreamDuration
	}
	if o.MaxMessageTimeout == 0 {
		o.MaxMessageTimeout = 60 * time.Second
	}
	return o
}

// Server implements ExternalProcessorServer.
type Server struct {
	extprocv3.UnimplementedExternalProcessorServer
	opts    Options
	streams sync.WaitGroup
	open    atomic.Int64
	budget  *budget
	refused atomic.Int64
}

// NewServer builds a Server; opts.Snapshots is required.
func NewServer(opts Options) *Server {
	s := &Server{opts: opts.withDefaults(), budget: &budget{}}
	s.budget.limit.Store(opts.MemoryBudget)
	return s
}

// Process handles one HTTP request's stream.
func (s *Server) Process(stream extprocv3.ExternalProcessor_ProcessServer) error {
	s.streams.Add(1)
	defer s.streams.Done()
	if n := s.open.Add(1); s.opts.MaxStreams > 0 && n > int64(s.opts.MaxStreams) {
		s.open.Add(-1)
		return status.Errorf(codes.ResourceExhausted, "more than %d ext_proc streams open", s.opts.MaxStreams)
	}
	defer s.open.Add(-1)
	snap := s.opts.Snapshots.Load()
	if snap == nil {
		// No config yet: refuse rather than let Envoy continue unmodified.
		return status.Error(codes.Unavailable, "keygate has no configuration loaded")
	}
	ctx, recv, done := s.receiver(stream)
	defer done()
	p := newProcessor(ctx, snap, s.opts)
	p.send, p.trustPeer = stream, trustedPeer(stream.Context())
	p.upstream, p.ingress = streamPhase(stream.Context())
	p.budget, p.refused = s.budget, &s.refused
	defer p.releaseBodies()
	for {
		var msg *extprocv3.ProcessingRequest
		var err error
		if recv == nil {
			msg, err = stream.Recv()
		} else {
			msg, err = recv()
		}
		if err != nil {
			switch {
			case errors.Is(ctx.Err(), context.DeadlineExceeded):
				return status.Error(codes.DeadlineExceeded, "ext_proc stream open longer than its limit")
			case errors.Is(err, io.EOF) || status.Code(err) == codes.Canceled || errors.Is(err, context.Canceled) || ctx.Err() != nil:
				return nil // Envoy ended the stream: processing is complete or abandoned
			}
			return err
		}
		resp, err := p.handle(msg)
		if err != nil {
			s.opts.Logger.Warn("ext_proc protocol error", "err", err)
			return status.Error(codes.FailedPrecondition, err.Error())
		}
		if err := stream.Send(resp); err != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return status.Error(codes.DeadlineExceeded, "ext_proc stream open longer than its limit")
			}
			return err
		}
	}
}

// streamCancel holds the cancel function of the deadline startStream gave a stream's context.
type streamCancel struct{}

// startStream is the ext_proc gRPC server's tap (NewGRPCServer): before a Process stream
// starts, its context gets MaxStreamDuration as a deadline. gRPC's own Recv and Send watch the
// stream's context, so a stream that sends nothing, or does not read its answers, is ended at
// the deadline with no goroutine of keygate's waiting beside it (a reader goroutine and two
// channel hand-offs per message were a third of a header-only stream's cost, profiled). gRPC
// cancels the context with the stream; Process also cancels it when it returns.
func (s *Server) startStream(ctx context.Context, info *tap.Info) (context.Context, error) {
	if info.FullMethodName != extprocv3.ExternalProcessor_Process_FullMethodName {
		return ctx, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.MaxStreamDuration)
	return context.WithValue(ctx, streamCancel{}, cancel), nil
}

// receiver returns the stream's context, under MaxStreamDuration, and how to receive its next
// message: nil for a stream startStream began, which is read directly (stream.Recv; a method
// value would be an allocation per stream). Any other (a gRPC server built without
// NewGRPCServer's tap) gets a reader goroutine: Recv does not watch a context Process derives,
// so the reader receives each message when asked (in step with the answers, as Envoy sends
// them) and the caller gives up at the deadline; the reader ends with the stream, as Recv fails
// once Process returns.
func (s *Server) receiver(stream extprocv3.ExternalProcessor_ProcessServer) (context.Context, func() (*extprocv3.ProcessingRequest, error), func()) {
	ctx := stream.Context()
	if cancel, ok := ctx.Value(streamCancel{}).(context.CancelFunc); ok {
		return ctx, nil, cancel
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.MaxStreamDuration)
	msgs, next := make(chan recvResult), make(chan struct{}, 1)
	go func() {
		for range next {
			m, err := stream.Recv()
			select {
			case msgs <- recvResult{m, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	recv := func() (*extprocv3.ProcessingRequest, error) {
		next <- struct{}{}
		select {
		case r := <-msgs:
			return r.msg, r.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return ctx, recv, func() { close(next); cancel() }
}

type recvResult struct {
	msg *extprocv3.ProcessingRequest
	err error
}

// trustedPeer: a stream whose client certificate keygate verified (listen.tls: an allowed
// Envoy), or one from loopback (Envoy beside keygate). Identity attributes from anyone else
// are a claim, not Envoy's word.
func trustedPeer(ctx context.Context) bool {
	pr, ok := peer.FromContext(ctx)
	if !ok {
		return false
	}
	if ti, ok := pr.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) > 0 {
		return true
	}
	if a, ok := pr.Addr.(*net.TCPAddr); ok {
		return a.IP.IsLoopback()
	}
	return false
}

// Wait blocks until every stream in flight has ended or ctx is done: the drain on shutdown.
func (s *Server) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.streams.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
