package emu

import (
	"errors"
	"fmt"
	"net"

	extprocv3cfg "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/proto"
)

// ErrInvalidConfig wraps every configuration Envoy itself would reject.
var ErrInvalidConfig = errors.New("emu: invalid config")

// ErrUnsupported wraps configurations Envoy accepts but the emulator does not implement.
var ErrUnsupported = errors.New("emu: not implemented by the emulator")

// snapshot is one compiled, immutable Config.
type snapshot struct {
	cfg      Config
	rules    *rulesChecker
	limits   mutationLimits
	routes   *routeTable
	clusters map[string]*upstreamCluster
	client   extprocv3.ExternalProcessorClient
}

// compile validates cfg (Envoy's load-time checks, then the emulator's limits) and builds a
// snapshot. clientFor resolves the ext_proc target.
func compile(cfg Config, clientFor func(Config) (extprocv3.ExternalProcessorClient, error)) (*snapshot, error) {
	cfg = withDefaults(cfg)
	if err := validate(cfg); err != nil {
		return nil, err
	}
	s := &snapshot{cfg: cfg, clusters: map[string]*upstreamCluster{},
		limits: mutationLimits{maxCount: cfg.MaxHeadersCount, maxBytes: cfg.MaxHeadersKB * 1024}}
	var err error
	if s.rules, err = newRulesChecker(*cfg.MutationRules); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if s.routes, err = compileRoutes(cfg.VirtualHosts, cfg.IgnorePortInHostMatching); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	for name, c := range cfg.Clusters {
		for _, ep := range c.Endpoints {
			if _, _, err := net.SplitHostPort(ep); err != nil {
				return nil, fmt.Errorf("%w: cluster %q endpoint %q: %w", ErrInvalidConfig, name, ep, err)
			}
		}
		s.clusters[name] = newUpstreamCluster(c)
		s.clusters[name].name = name
		if up := c.UpstreamExtProc; up != nil {
			sub := *up
			sub.VirtualHosts, sub.Clusters, sub.Disabled = nil, nil, false
			if s.clusters[name].filter, err = compile(sub, clientFor); err != nil {
				return nil, fmt.Errorf("cluster %q upstream ext_proc: %w", name, err)
			}
		}
	}
	if !cfg.Disabled {
		if s.client, err = clientFor(cfg); err != nil {
			return nil, fmt.Errorf("%w: ext_proc grpc_service: %w", ErrInvalidConfig, err)
		}
	}
	return s, nil
}

// validate mirrors the checks in EP/config.cc and the proto validators.
func validate(cfg Config) error {
	if cfg.Disabled {
		return nil
	}
	var errs []error
	if (cfg.ExtProcConn == nil) == (cfg.ExtProcAddress == "") {
		errs = append(errs, fmt.Errorf("%w: One and only one of grpc_service or http_service must be set", ErrInvalidConfig))
	}
	if cfg.StatusOnError < 100 || cfg.StatusOnError > 599 {
		errs = append(errs, fmt.Errorf("%w: status_on_error %d", ErrInvalidConfig, cfg.StatusOnError))
	}
	if cfg.MessageTimeout < 0 || cfg.BufferLimit < 0 {
		errs = append(errs, fmt.Errorf("%w: negative message_timeout or buffer limit", ErrInvalidConfig))
	}
	errs = append(errs, validateMode("processing_mode", cfg.ProcessingMode, cfg.FailureModeAllow))
	for i, m := range cfg.AllowedOverrideModes {
		errs = append(errs, validateMode(fmt.Sprintf("allowed_override_modes[%d]", i), m, cfg.FailureModeAllow))
	}
	for _, vh := range cfg.VirtualHosts {
		for _, r := range vh.Routes {
			if r.ExtProc != nil && r.ExtProc.ProcessingMode != nil {
				errs = append(errs, validateMode("route "+r.Name+" ext_proc overrides", r.ExtProc.ProcessingMode, cfg.FailureModeAllow))
			}
		}
	}
	return errors.Join(errs...)
}

func validateMode(where string, m *extprocv3cfg.ProcessingMode, fma bool) error {
	if m == nil {
		return nil
	}
	fd := extprocv3cfg.ProcessingMode_FULL_DUPLEX_STREAMED
	if m.GetRequestBodyMode() == fd && m.GetRequestTrailerMode() != extprocv3cfg.ProcessingMode_SEND ||
		m.GetResponseBodyMode() == fd && m.GetResponseTrailerMode() != extprocv3cfg.ProcessingMode_SEND {
		return fmt.Errorf("%w: %s: FULL_DUPLEX_STREAMED body mode requires trailer mode SEND", ErrInvalidConfig, where)
	}
	if (m.GetRequestBodyMode() == fd || m.GetResponseBodyMode() == fd) && fma {
		return fmt.Errorf("%w: %s: FULL_DUPLEX_STREAMED body mode does not support failure_mode_allow", ErrInvalidConfig, where)
	}
	if !bodyModeSupported(m.GetRequestBodyMode()) || !bodyModeSupported(m.GetResponseBodyMode()) {
		return fmt.Errorf("%w: %s: body modes other than NONE and BUFFERED", ErrUnsupported, where)
	}
	return nil
}

// overrideAllowed mirrors the allowed_override_modes comparison (request_header_mode ignored).
func (s *snapshot) overrideAllowed(m *extprocv3cfg.ProcessingMode) bool {
	if len(s.cfg.AllowedOverrideModes) == 0 {
		return true
	}
	for _, a := range s.cfg.AllowedOverrideModes {
		b := proto.Clone(a).(*extprocv3cfg.ProcessingMode)
		b.RequestHeaderMode = m.GetRequestHeaderMode()
		if proto.Equal(b, m) {
			return true
		}
	}
	return false
}

// release lets idle upstream connections of a replaced snapshot go.
func (s *snapshot) release() {
	for _, c := range s.clusters {
		c.transport.CloseIdleConnections()
	}
}
