package emu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
	"unicode"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// outcome classifies one message round trip on the Process stream.
type outcome int

const (
	gotResponse  outcome = iota
	closedOK             // server ended the stream with status OK: continue unmodified
	streamFailed         // open failed or non-OK status
	timedOut             // message_timeout expired
	spurious             // a response arrived while nothing was outstanding
)

type streamEvent struct {
	resp *extprocv3.ProcessingResponse
	err  error
}

// procStream is the lazily opened Process stream of one HTTP request, with Envoy's strict
// ping-pong: at most one message outstanding.
type procStream struct {
	client   extprocv3.ExternalProcessorClient
	parent   context.Context
	protocol *extprocv3.ProtocolConfiguration
	stats    *counters
	metadata [][2]string // grpc_service.initial_metadata

	ctx      context.Context
	cancel   context.CancelFunc
	stream   extprocv3.ExternalProcessor_ProcessClient
	incoming chan streamEvent
	term     *streamEvent // the terminal event once seen
}

// Envoy has no message size limit on its side of the stream.
var unlimited = []grpc.CallOption{grpc.MaxCallRecvMsgSize(math.MaxInt32), grpc.MaxCallSendMsgSize(math.MaxInt32)}

func (p *procStream) open() error {
	p.ctx, p.cancel = context.WithCancel(p.parent)
	ctx := p.ctx
	for _, kv := range p.metadata {
		ctx = metadata.AppendToOutgoingContext(ctx, kv[0], kv[1])
	}
	s, err := p.client.Process(ctx, unlimited...)
	if err != nil {
		return err
	}
	p.stats.StreamsOpened.Add(1)
	p.stream = s
	p.incoming = make(chan streamEvent, 8)
	go p.receive(s, p.incoming)
	return nil
}

func (p *procStream) receive(s extprocv3.ExternalProcessor_ProcessClient, out chan<- streamEvent) {
	for {
		resp, err := s.Recv()
		select {
		case out <- streamEvent{resp: resp, err: err}:
		case <-p.ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// classify turns a terminal receive error into an outcome.
func classify(err error) (outcome, error) {
	if errors.Is(err, io.EOF) {
		return closedOK, nil
	}
	return streamFailed, err
}

// roundTrip sends req and waits for its response for at most timeout. first tells whether
// attributes may be attached (decided by the caller per direction).
func (p *procStream) roundTrip(req *extprocv3.ProcessingRequest, timeout, maxTimeout time.Duration) (*extprocv3.ProcessingResponse, outcome, error) {
	if p.term != nil {
		o, err := classify(p.term.err)
		return nil, o, err
	}
	if p.stream == nil {
		if err := p.open(); err != nil {
			return nil, streamFailed, err
		}
		req.ProtocolConfig = p.protocol
	} else {
		select { // something arrived while nothing was outstanding
		case ev := <-p.incoming:
			if ev.err == nil {
				return nil, spurious, nil
			}
			p.term = &ev
			o, err := classify(ev.err)
			return nil, o, err
		default:
		}
	}
	if req.MetadataContext == nil {
		req.MetadataContext = &corev3.Metadata{}
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	if err := p.stream.Send(req); err != nil && !errors.Is(err, io.EOF) {
		return nil, streamFailed, err
	} // io.EOF: the stream ended; Recv reports how
	p.stats.MessagesSent.Add(1)
	for {
		select {
		case ev := <-p.incoming:
			if ev.err != nil {
				p.term = &ev
				o, err := classify(ev.err)
				return nil, o, err
			}
			p.stats.MessagesReceived.Add(1)
			if d := ev.resp.GetOverrideMessageTimeout(); d != nil {
				// Filter::onReceiveMessage → onNewTimeout: the timer restarts with the new
				// value when 1 ms <= d <= max_message_timeout, else the message is ignored;
				// either way Envoy keeps waiting for the real response.
				if nd := d.AsDuration(); maxTimeout > 0 && nd >= time.Millisecond && nd <= maxTimeout {
					p.stats.OverrideMessageTimeouts.Add(1)
					timer.Reset(nd)
				} else {
					p.stats.OverrideMessageTimeoutsIgnored.Add(1)
				}
				continue
			}
			return ev.resp, gotResponse, nil
		case <-timer.C:
			return nil, timedOut, nil
		}
	}
}

// pendingSpurious reports a response that arrived with nothing outstanding, without blocking.
func (p *procStream) pendingSpurious() bool {
	if p.stream == nil || p.term != nil {
		return false
	}
	select {
	case ev := <-p.incoming:
		if ev.err != nil {
			p.term = &ev
			return false
		}
		return true
	default:
		return false
	}
}

// close half-closes then resets the stream, as Envoy does once processing is over.
func (p *procStream) close() {
	if p.stream == nil {
		return
	}
	_ = p.stream.CloseSend()
	p.cancel()
	p.stream = nil
	p.term = &streamEvent{err: io.EOF}
}

// grpcErrorDetails is the local reply details of a failed stream, as Filter::onGrpcError
// formats them: "ext_proc_error_gRPC_error_<code>{<message>}", whitespace replaced by '_'
// (sendImmediateResponse runs StringUtil::replaceAllEmptySpace over details).
func grpcErrorDetails(err error) string {
	st := status.Convert(err)
	return replaceAllEmptySpace(fmt.Sprintf("ext_proc_error_gRPC_error_%d{%s}", int(st.Code()), st.Message()))
}

// replaceAllEmptySpace is Envoy's StringUtil::replaceAllEmptySpace: every whitespace character
// becomes '_', so details stay one token in access logs.
func replaceAllEmptySpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return '_'
		}
		return r
	}, s)
}
