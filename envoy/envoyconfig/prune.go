package envoyconfig

import (
	"sync"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// pruner answers "can a message of this type contain anything the visitor cares about?" so
// walk skips whole subtrees (a snapshot has tens of thousands of messages, most of them
// plain). Answers are facts about compiled-in descriptors, so they are memoized for the life
// of the process.
type pruner struct {
	self  func(protoreflect.MessageDescriptor) bool // the type itself is of interest
	cache sync.Map                                  // protoreflect.FullName -> bool
}

const anyName protoreflect.FullName = "google.protobuf.Any"

// reaches reports whether md, or any message type reachable through its fields, is of
// interest. Any always is: its content is only known at run time.
func (p *pruner) reaches(md protoreflect.MessageDescriptor) bool {
	if v, ok := p.cache.Load(md.FullName()); ok {
		return v.(bool)
	}
	// Breadth-first over the type graph; the visited set makes recursive types terminate.
	found := false
	seen := map[protoreflect.FullName]bool{md.FullName(): true}
	queue := []protoreflect.MessageDescriptor{md}
	for len(queue) > 0 && !found {
		cur := queue[0]
		queue = queue[1:]
		if cur.FullName() == anyName || p.self(cur) {
			found = true
			break
		}
		fields := cur.Fields()
		for i := 0; i < fields.Len(); i++ {
			next := fieldMessage(fields.Get(i))
			if next != nil && !seen[next.FullName()] {
				seen[next.FullName()] = true
				queue = append(queue, next)
			}
		}
	}
	p.cache.Store(md.FullName(), found)
	return found
}

// fieldMessage is the message type a field holds (a map's value type), or nil.
func fieldMessage(fd protoreflect.FieldDescriptor) protoreflect.MessageDescriptor {
	if fd.IsMap() {
		return fd.MapValue().Message()
	}
	return fd.Message()
}

// hasDeprecated: a field of md, or a value of an enum md uses, is marked deprecated.
func hasDeprecated(md protoreflect.MessageDescriptor) bool {
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if opts, ok := fd.Options().(*descriptorpb.FieldOptions); ok && opts.GetDeprecated() {
			return true
		}
		if ed := fd.Enum(); ed != nil {
			for j := 0; j < ed.Values().Len(); j++ {
				if opts, ok := ed.Values().Get(j).Options().(*descriptorpb.EnumValueOptions); ok && opts.GetDeprecated() {
					return true
				}
			}
		}
	}
	return false
}

var (
	// anyPruner finds messages that may hold an Any.
	anyPruner = &pruner{self: func(protoreflect.MessageDescriptor) bool { return false }}
	// deprecatedPruner finds messages that may hold a deprecated field or enum value.
	deprecatedPruner = &pruner{self: hasDeprecated}
	// refPruner finds messages that may hold a cluster reference.
	refPruner = &pruner{self: func(md protoreflect.MessageDescriptor) bool {
		n := md.FullName()
		return n == "envoy.config.route.v3.RouteAction" || n == "envoy.config.core.v3.GrpcService.EnvoyGrpc"
	}}
)
