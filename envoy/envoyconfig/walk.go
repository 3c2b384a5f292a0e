package envoyconfig

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/anypb"
)

// ErrUnknownType is an Any whose @type no linked package registers (see types.go).
var ErrUnknownType = errors.New("unknown @type")

// path is the field path to the message being visited, rendered only when an error needs it
// (for example `filter_chains[0].filters[0].typed_config<HttpConnectionManager>.http_filters[1]`).
type path struct{ segs []segment }

type segment struct {
	field string // field name, or "" for an element or an Any
	index int    // list index, or -1
	key   string // map key, or ""
	any   string // unpacked Any's message name, or ""
}

func (p *path) push(s segment) { p.segs = append(p.segs, s) }
func (p *path) pop()           { p.segs = p.segs[:len(p.segs)-1] }

// String renders the path; the root is "(root)".
func (p *path) String() string {
	var b strings.Builder
	for _, s := range p.segs {
		switch {
		case s.any != "":
			b.WriteString("<" + s.any + ">")
		case s.key != "":
			b.WriteString("[" + s.key + "]")
		case s.index >= 0:
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.field)
		}
	}
	if b.Len() == 0 {
		return "(root)"
	}
	return b.String()
}

// field is the path of field name under p.
func (p *path) field(name string) string {
	p.push(segment{field: name, index: -1})
	defer p.pop()
	return p.String()
}

// visitFunc sees every message reached by walk with its path.
type visitFunc func(p *path, m protoreflect.Message) error

// walk visits m and every message below it, depth first, unpacking each Any into its concrete
// message (which is then walked too). ValidateAll stops at Any; this does not.
// Subtrees whose type cannot hold anything of interest to the visitor (see pruner) are skipped.
func walk(m protoreflect.Message, p *path, prune *pruner, visit visitFunc) error {
	if err := visit(p, m); err != nil {
		return err
	}
	if a, ok := m.Interface().(*anypb.Any); ok {
		inner, err := unpack(a)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		p.push(segment{index: -1, any: string(inner.ProtoReflect().Descriptor().Name())})
		defer p.pop()
		return walk(inner.ProtoReflect(), p, prune, visit)
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if md := fieldMessage(fd); md == nil || !prune.reaches(md) {
			return true
		}
		switch {
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				p.push(segment{field: string(fd.Name()), index: -1})
				p.push(segment{index: -1, key: k.String()})
				err = walk(mv.Message(), p, prune, visit)
				p.pop()
				p.pop()
				return err == nil
			})
		case fd.IsList():
			p.push(segment{field: string(fd.Name()), index: -1})
			for i, l := 0, v.List(); i < l.Len() && err == nil; i++ {
				p.push(segment{index: i})
				err = walk(l.Get(i).Message(), p, prune, visit)
				p.pop()
			}
			p.pop()
		case fd.Message() != nil:
			p.push(segment{field: string(fd.Name()), index: -1})
			err = walk(v.Message(), p, prune, visit)
			p.pop()
		}
		return err == nil
	})
	return err
}

// unpack resolves an Any through the global registry and validates the result with its
// protoc-gen-validate rules, which the enclosing message's ValidateAll does not reach.
func unpack(a *anypb.Any) (proto.Message, error) {
	inner, err := a.UnmarshalNew()
	if err != nil {
		return nil, fmt.Errorf("%w %q (%v)", ErrUnknownType, a.GetTypeUrl(), err)
	}
	if err := validateAll(inner); err != nil {
		return nil, fmt.Errorf("%s: %w", inner.ProtoReflect().Descriptor().Name(), err)
	}
	return inner, nil
}

// ErrDeprecated is a set field or enum value Envoy's protos mark deprecated.
var ErrDeprecated = errors.New("deprecated")

// noDeprecated rejects deprecated fields and enum values set on m itself (walk does the descent).
func noDeprecated(p *path, m protoreflect.Message) error {
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if opts, ok := fd.Options().(*descriptorpb.FieldOptions); ok && opts.GetDeprecated() {
			err = fmt.Errorf("%s: %w field (%s)", p.field(fd.TextName()), ErrDeprecated, fd.FullName())
			return false
		}
		if fd.Enum() == nil || fd.IsMap() {
			return true
		}
		values := []protoreflect.EnumNumber{}
		if fd.IsList() {
			for i := 0; i < v.List().Len(); i++ {
				values = append(values, v.List().Get(i).Enum())
			}
		} else {
			values = append(values, v.Enum())
		}
		for _, n := range values {
			ev := fd.Enum().Values().ByNumber(n)
			if ev == nil {
				continue // unknown numbers are ValidateAll's to reject
			}
			if opts, ok := ev.Options().(*descriptorpb.EnumValueOptions); ok && opts.GetDeprecated() {
				err = fmt.Errorf("%s: %w enum value %s", p.field(fd.TextName()), ErrDeprecated, ev.Name())
				return false
			}
		}
		return true
	})
	return err
}

func validateAll(m proto.Message) error {
	if v, ok := m.(interface{ ValidateAll() error }); ok {
		return v.ValidateAll()
	}
	return nil
}
