package extproc

import (
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/keygate/keygate/internal/gateway"
)

// grpcHeadroom is what a ProcessingRequest carries beyond the body: headers, attributes and
// metadata, and what signing adds (gateway refuses a body that grows past it with 413). gRPC's
// default 4 MiB receive limit would cut bodies Envoy accepts (Envoy has no limit of its own), so
// the limit follows the body limit keygate promises.
const grpcHeadroom = gateway.MessageHeadroom

// NewGRPCServer is keygate's ext_proc gRPC server: the processor, gRPC health (SERVING until
// the caller sets NOT_SERVING to drain), message limits sized to maxBody, and each Process
// stream's deadline set before it starts (Server.startStream). opts must not hold another
// grpc.InTapHandle: gRPC keeps one, and without this one every stream needs a reader goroutine.
func NewGRPCServer(srv *Server, maxBody int64, opts ...grpc.ServerOption) (*grpc.Server, *health.Server) {
	limit := int(maxBody) + grpcHeadroom
	opts = append([]grpc.ServerOption{grpc.MaxRecvMsgSize(limit), grpc.MaxSendMsgSize(limit), grpc.InTapHandle(srv.startStream)}, opts...)
	g := grpc.NewServer(opts...)
	extprocv3.RegisterExternalProcessorServer(g, srv)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(g, hs)
	return g, hs
}
