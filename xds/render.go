package xds

import (
	"bytes"
	"encoding/json"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// JSON renders r as one stable, indented JSON document
// {"listeners": [...], "routes": [...], "clusters": [...]} (and "secrets" with mTLS) with Envoy's field names, Anys
// expanded with their @type. protojson's own whitespace is deliberately unstable, so each
// message is compacted and the document indented once: the bytes depend only on the content.
// Resources hold file names and addresses, never secrets, so this is safe to print.
func (r *Resources) JSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	sections := []struct {
		name string
		msgs []proto.Message
	}{
		{"listeners", messages(r.Listeners)},
		{"routes", messages(r.Routes)},
		{"clusters", messages(r.Clusters)},
	}
	if len(r.Secrets) > 0 {
		sections = append(sections, struct {
			name string
			msgs []proto.Message
		}{"secrets", messages(r.Secrets)})
	}
	opts := protojson.MarshalOptions{UseProtoNames: true}
	for i, s := range sections {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`"` + s.name + `":[`)
		for j, m := range s.msgs {
			if j > 0 {
				buf.WriteByte(',')
			}
			js, err := opts.Marshal(m)
			if err != nil {
				return nil, err
			}
			if err := json.Compact(&buf, js); err != nil {
				return nil, err
			}
		}
		buf.WriteByte(']')
	}
	buf.WriteByte('}')
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func messages[T proto.Message](in []T) []proto.Message {
	out := make([]proto.Message, len(in))
	for i, m := range in {
		out[i] = m
	}
	return out
}
