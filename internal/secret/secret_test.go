package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestValueNeverPrints(t *testing.T) {
	const raw = "hunter2-very-secret"
	v := FromString(raw)
	type wrapper struct {
		Key Value `json:"key"`
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "key", v, "w", wrapper{v})
	js, _ := json.Marshal(wrapper{v})
	renders := map[string]string{
		"%v": fmt.Sprintf("%v", v), "%s": fmt.Sprintf("%s", v), "%q": fmt.Sprintf("%q", v),
		"%x": fmt.Sprintf("%x", v), "%+v": fmt.Sprintf("%+v", wrapper{v}), "%#v": fmt.Sprintf("%#v", v),
		"json": string(js), "slog": logged.String(), "err": fmt.Errorf("wrap %v", v).Error(),
	}
	for name, out := range renders {
		if strings.Contains(out, raw) || strings.Contains(out, fmt.Sprintf("%x", raw)) {
			t.Errorf("%s rendering leaks the secret", name)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("%s rendering = %q, want it to say %s", name, out, Redacted)
		}
	}
	if string(v.Reveal()) != raw {
		t.Fatal("Reveal does not return the bytes")
	}
	if !v.Equal(FromString(raw)) || v.Equal(FromString("other")) {
		t.Fatal("Equal is wrong")
	}
}
