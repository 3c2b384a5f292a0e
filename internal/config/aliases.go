package config

import (
	"bytes"
	"fmt"

	yamlv3 "go.yaml.in/yaml/v3"
)

// MaxExpandedYAML bounds what a YAML document may expand to through its aliases.
const MaxExpandedYAML = 16 << 20

// CheckAliases refuses a YAML document whose aliases expand it past MaxExpandedYAML (bytes of
// scalars, plus a little per node), before anything expands it. sigs.k8s.io/yaml expands
// aliases into JSON first, and go-yaml's own alias check counts nodes, not bytes: one 512 KiB
// scalar aliased 45,000 times fits in a 1 MiB request body and asks for 23 GB. The document is
// read as a node tree, where an alias is a pointer, and each anchored node is sized once.
func CheckAliases(data []byte) error {
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(data, &doc); err != nil {
		if !bytes.ContainsRune(data, '*') {
			return nil // no alias at all: the parser that follows says what is wrong
		}
		// The two YAML parsers disagree: what this one cannot read may not be expanded by the other.
		return fmt.Errorf("YAML with aliases that cannot be checked for expansion: %v", err)
	}
	sizes := map[*yamlv3.Node]int64{}
	var size func(n *yamlv3.Node, depth int) int64
	size = func(n *yamlv3.Node, depth int) int64 {
		if n == nil || depth > 10000 {
			return MaxExpandedYAML + 1
		}
		if s, ok := sizes[n]; ok {
			return s
		}
		sizes[n] = MaxExpandedYAML + 1 // an alias cycle counts as too big
		var s int64 = 8
		switch n.Kind {
		case yamlv3.AliasNode:
			s = size(n.Alias, depth+1)
		case yamlv3.ScalarNode:
			s += int64(len(n.Value))
		default:
			for _, c := range n.Content {
				if s += size(c, depth+1); s > MaxExpandedYAML {
					break
				}
			}
		}
		sizes[n] = s
		return s
	}
	if s := size(&doc, 0); s > MaxExpandedYAML {
		return fmt.Errorf("YAML aliases expand the document past %d MiB: refused unexpanded", MaxExpandedYAML>>20)
	}
	return nil
}
