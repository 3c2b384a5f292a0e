package faults

import (
	"os"
	"testing"
)

// TestFaultSuite is `make faults`: every fault, the table, and the breach total (unsigned or
// plaintext requests, forged callbacks delivered, real credentials re-signed), which must be 0.
// FAULTS_OUT=FILE writes the table as JSON.
func TestFaultSuite(t *testing.T) {
	results := Run(t, Options{})
	total := Print(os.Stdout, results)
	if path := os.Getenv("FAULTS_OUT"); path != "" {
		if err := WriteJSON(path, results); err != nil {
			t.Fatal(err)
		}
	}
	if total != 0 {
		t.Fatalf("%d breaches: unsigned or plaintext requests reached an upstream, forged callbacks were delivered or real credentials re-signed", total)
	}
}
