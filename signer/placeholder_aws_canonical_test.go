package signer

import (
	"net/http"
	"testing"
)

// TestAWSCanonicalIsAWSsExample: the placeholder's canonical request (the one a caller's SDK
// signed, and the one keygate re-signs) is AWS's own documented example, byte for byte: the
// IAM ListUsers request of the SigV4 guide ("Create a canonical request").
func TestAWSCanonicalIsAWSsExample(t *testing.T) {
	r := NewRequest("GET", "https", "iam.amazonaws.com", "/?Action=ListUsers&Version=2010-05-08", http.Header{
		"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"},
		"X-Amz-Date":   {"20150830T123600Z"},
	}, nil)
	got := awsCanonical(r, "iam", "Action=ListUsers&Version=2010-05-08", []string{"content-type", "host", "x-amz-date"},
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	want := "GET\n/\nAction=ListUsers&Version=2010-05-08\n" +
		"content-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n" +
		"content-type;host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if got != want {
		t.Errorf("canonical request:\n%s\nwant AWS's:\n%s", got, want)
	}
}
