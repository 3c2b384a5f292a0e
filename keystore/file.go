package keystore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/keygate/keygate/internal/secret"
)

// File is the development keystore: a YAML file holding keys in clear. It is high-risk (anyone
// who can read the file has every key) and exists so keygate can run on a laptop without Vault.
//
//	secret/keygate/demo:          # "MOUNT/PATH": fields, as in Vault KV v2
//	  app_secret: "s3cr3t"
//	transit:                      # optional: "MOUNT/KEY" for transit:MOUNT/KEY references
//	  transit/demo-hmac: {type: hmac, key: "<base64>"}
//	  transit/demo-rsa:  {type: rsa, key: "-----BEGIN PRIVATE KEY-----..."}
//
// The file has one version of each secret: a pinned reference (@N) resolves to it and reports
// version 0. An edit of the file is picked up without a restart: a read checks, at most once
// per FileReloadCheck, whether the file changed (size or modification time) and re-reads it.
// A file that no longer parses keeps the previous contents in use, and says why in the log.
type File struct {
	path string
	log  *slog.Logger
	mu   sync.RWMutex
	kv   map[string]map[string]secret.Value // "mount/path" -> field -> value
	keys map[string]transitKey              // "mount/key"

	checkMu   sync.Mutex
	lastCheck time.Time
	stamp     string // size and modification time of the contents in use
}

// FileReloadCheck is how often, at most, the file keystore looks for an edit of its file.
const FileReloadCheck = time.Second

var (
	_ Store         = (*File)(nil)
	_ TransitSigner = (*File)(nil)
)

// OpenFile reads the file keystore at path. It warns loudly: this backend is for development.
func OpenFile(path string, log *slog.Logger) (*File, error) {
	log.Warn("FILE KEYSTORE IN USE: keys are read in clear from a local file; this is high-risk and for development only, use keystore.type vault in production",
		"path", path)
	f := &File{path: path, log: log}
	if err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

func fileStamp(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%d:%d", fi.Size(), fi.ModTime().UnixNano())
}

// fresh re-reads the file when it changed since it was read (checked at most once per
// FileReloadCheck).
func (f *File) fresh() {
	f.checkMu.Lock()
	defer f.checkMu.Unlock()
	if time.Since(f.lastCheck) < FileReloadCheck {
		return
	}
	f.lastCheck = time.Now()
	f.mu.RLock()
	inUse := f.stamp
	f.mu.RUnlock()
	if st := fileStamp(f.path); st == "" || st == inUse {
		return
	}
	if err := f.Reload(); err != nil {
		f.log.Error("file keystore changed but cannot be read: the previous contents stay in use", "err", err)
		return
	}
	f.log.Info("file keystore reloaded", "path", f.path)
}

// Reload re-reads the file. On error the previous contents stay in use.
func (f *File) Reload() error {
	st := fileStamp(f.path)
	data, err := os.ReadFile(f.path)
	if err != nil {
		return fmt.Errorf("file keystore: %w", err) // the path error names the file, not contents
	}
	kv, keys, err := parseFileStore(data)
	if err != nil {
		return fmt.Errorf("file keystore %s: %w", f.path, err)
	}
	f.mu.Lock()
	f.kv, f.keys, f.stamp = kv, keys, st
	f.mu.Unlock()
	return nil
}

// Get resolves a KV reference.
func (f *File) Get(_ context.Context, ref Ref) (Secret, error) {
	if ref.Kind != KV {
		return Secret{}, readFailure(ref, ErrNotFound, "not a KV reference")
	}
	f.fresh()
	f.mu.RLock()
	fields, ok := f.kv[ref.Mount+"/"+ref.Path]
	v, hasField := fields[ref.Field]
	f.mu.RUnlock()
	switch {
	case !ok:
		return Secret{}, readFailure(ref, ErrNotFound, fmt.Sprintf("no entry %q in file keystore %s", ref.Mount+"/"+ref.Path, f.path))
	case !hasField:
		return Secret{}, readFailure(ref, ErrNotFound, fmt.Sprintf("entry %q in file keystore %s has no field %q", ref.Mount+"/"+ref.Path, f.path, ref.Field))
	}
	return Secret{Value: v}, nil
}

// Close does nothing; it makes File a Store.
func (f *File) Close() error { return nil }

// fileEntry is one transit key as written in the file.
type fileEntry struct {
	Type string `json:"type"`
	Key  string `json:"key"`
}

// yamlLine finds the position in a YAML error.
var yamlLine = regexp.MustCompile(`line \d+(: column \d+)?`)

func parseFileStore(data []byte) (map[string]map[string]secret.Value, map[string]transitKey, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		// The YAML library may quote values in its errors (a null key prints its value): keep
		// only where the problem is.
		if at := yamlLine.FindString(err.Error()); at != "" {
			return nil, nil, fmt.Errorf("not valid YAML at %s", at)
		}
		return nil, nil, errors.New("not valid YAML (a null or non-scalar key?)")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(js, &top); err != nil {
		return nil, nil, fmt.Errorf("want a map of \"mount/path\" to fields")
	}
	kv := map[string]map[string]secret.Value{}
	keys := map[string]transitKey{}
	for name, raw := range top {
		if name == "transit" {
			var entries map[string]fileEntry
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&entries); err != nil {
				return nil, nil, fmt.Errorf("transit: want \"mount/key\": {type, key}")
			}
			for keyName, e := range entries {
				if m, k, ok := strings.Cut(keyName, "/"); !ok || m == "" || k == "" {
					return nil, nil, fmt.Errorf("transit.%s: want \"mount/key\"", keyName)
				}
				tk, err := parseTransitKey(e.Type, e.Key)
				if err != nil {
					return nil, nil, fmt.Errorf("transit.%s: %w", keyName, err)
				}
				keys[keyName] = tk
			}
			continue
		}
		if m, p, ok := strings.Cut(strings.Trim(name, "/"), "/"); !ok || m == "" || p == "" {
			return nil, nil, fmt.Errorf("%s: want \"mount/path\"", name)
		}
		var fields map[string]any
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, nil, fmt.Errorf("%s: want a map of field to string value", name)
		}
		vals := make(map[string]secret.Value, len(fields))
		for field, v := range fields {
			s, ok := v.(string)
			if !ok { // never print v: it may be a key written as a number
				return nil, nil, fmt.Errorf("%s#%s: want a string value", name, field)
			}
			vals[field] = secret.FromString(s)
		}
		kv[strings.Trim(name, "/")] = vals
	}
	return kv, keys, nil
}
