package emu

import "sync/atomic"

// Stats is a snapshot of the emulator's counters; names follow Envoy's ext_proc and router
// stats where one exists.
type Stats struct {
	StreamsOpened           int64 // ext_proc streams_started
	StreamFailures          int64 // ext_proc streams_failed (open failed or non-OK status)
	CleanCloses             int64 // server closed with OK before processing completed
	MessagesSent            int64 // ext_proc stream_msgs_sent
	MessagesReceived        int64 // ext_proc stream_msgs_received
	SpuriousMessages        int64 // ext_proc spurious_msgs_received
	MessageTimeouts         int64 // ext_proc message_timeouts
	FailureModeAllowed      int64 // ext_proc failure_mode_allowed
	RejectedHeaderMutations int64 // ext_proc rejected_header_mutations
	ImmediateResponses      int64 // ImmediateResponse replies applied
	ModeOverrides           int64 // mode_override applied
	ModeOverridesIgnored    int64 // mode_override received but not allowed
	RouteCacheClears        int64 // clear_route_cache honoured
	LocalReplies            int64 // local replies of any origin
	UpstreamRequests        int64 // requests sent to a cluster
	Unsupported             int64 // requests failed because the emulator lacks a feature
	// ImmediateMutationFailures counts ImmediateResponses whose header mutation failed part way
	// (Envoy only logs it, ENVOY_LOG_EVERY_POW_2, and sends the reply).
	ImmediateMutationFailures int64
	// OverrideMessageTimeouts / ...Ignored mirror override_message_timeout_received / _ignored.
	OverrideMessageTimeouts, OverrideMessageTimeoutsIgnored int64
	// UpstreamIgnored counts immediate responses and route cache clears an upstream ext_proc
	// filter ignored (send_immediate_resp_upstream_ignored, clear_route_cache_upstream_ignored).
	UpstreamIgnored int64
}

// counters is the live, concurrency-safe form of Stats.
type counters struct {
	StreamsOpened, StreamFailures, CleanCloses, MessagesSent, MessagesReceived     atomic.Int64
	SpuriousMessages, MessageTimeouts, FailureModeAllowed, RejectedHeaderMutations atomic.Int64
	ImmediateResponses, ModeOverrides, ModeOverridesIgnored, RouteCacheClears      atomic.Int64
	LocalReplies, UpstreamRequests, Unsupported, ImmediateMutationFailures         atomic.Int64
	OverrideMessageTimeouts, OverrideMessageTimeoutsIgnored, UpstreamIgnored       atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		StreamsOpened: c.StreamsOpened.Load(), StreamFailures: c.StreamFailures.Load(),
		CleanCloses: c.CleanCloses.Load(), MessagesSent: c.MessagesSent.Load(),
		MessagesReceived: c.MessagesReceived.Load(), SpuriousMessages: c.SpuriousMessages.Load(),
		MessageTimeouts: c.MessageTimeouts.Load(), FailureModeAllowed: c.FailureModeAllowed.Load(),
		RejectedHeaderMutations: c.RejectedHeaderMutations.Load(),
		ImmediateResponses:      c.ImmediateResponses.Load(), ModeOverrides: c.ModeOverrides.Load(),
		ModeOverridesIgnored: c.ModeOverridesIgnored.Load(), RouteCacheClears: c.RouteCacheClears.Load(),
		LocalReplies: c.LocalReplies.Load(), UpstreamRequests: c.UpstreamRequests.Load(),
		Unsupported: c.Unsupported.Load(), ImmediateMutationFailures: c.ImmediateMutationFailures.Load(),
		OverrideMessageTimeouts:        c.OverrideMessageTimeouts.Load(),
		OverrideMessageTimeoutsIgnored: c.OverrideMessageTimeoutsIgnored.Load(),
		UpstreamIgnored:                c.UpstreamIgnored.Load(),
	}
}
