package gateway_test

import (
	"io/fs"
	"net/http/httptest"
	"testing"

	"github.com/keygate/keygate/examples"
	"github.com/keygate/keygate/examples/demoprovider"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/testkit/benchkit"
)

// BenchmarkPipelineScript is BenchmarkPipelineSimpleAES through the article's two JavaScript
// functions (custom mode) instead of the built-in steps: the same 4 KiB body, the same
// encrypted answer, the token fetched once from the article's token endpoint and then cached.
// Its gap to BenchmarkPipelineSimpleAES is what the interpreter costs.
func BenchmarkPipelineScript(b *testing.B) {
	js, err := fs.ReadFile(examples.Dev, "scripts/article-two-step.js")
	if err != nil {
		b.Fatal(err)
	}
	demo := httptest.NewServer(demoprovider.New(demoprovider.Credentials{
		AppKey: "demo-app", AppSecret: "demo-app-secret", AESKey: []byte("demo-aes-key-16b"), AESIV: []byte("demo-aes-iv-16by"),
	}, demoprovider.Options{}))
	defer demo.Close()
	p := benchkit.ArticleProvider(0)
	p.Signing = nil
	p.Vars = map[string]string{"app_key": "demo-app"}
	p.Token = &config.TokenSource{Type: "script", URL: demo.URL + "/v1/token"}
	p.Script = &config.Script{Inline: string(js)}
	snap, err := benchkit.App(b).Compile(&config.File{Providers: []config.Provider{p}}, gateway.Meta{})
	if err != nil {
		b.Fatal(err)
	}
	benchPipeline(b, snap)
}
