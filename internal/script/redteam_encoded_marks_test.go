package script

import (
	"context"
	"net/url"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/signer"
)

// TestRedTeamSecretMarkedOnlyEncoded: aliyun_rpc marks its SecurityToken as the query carries
// it (URIEncode), amap and baidu_map_sn their key as url.QueryEscape writes it. The readers
// decode the query: reqParams.get returns the token itself, which holds none of the marked
// (encoded) forms when it has a character the encoding escapes (an STS token's "/", "+",
// "="). A script after such a step must get a handle, not the text.
func TestRedTeamSecretMarkedOnlyEncoded(t *testing.T) {
	const token = "CAIS+sts/Token==Value+with/slashes"
	const stolen = `reqHeaders.set("X-Leak", hex_encode(v.split("").reverse().join("")))`
	marks := map[string]func(string) string{
		"URIEncode (aliyun_rpc)":           func(s string) string { return signer.URIEncode(s, true) },
		"QueryEscape (amap, baidu_map_sn)": url.QueryEscape,
	}
	readers := map[string]string{
		"reqParams.get":     `var v = reqParams.get("SecurityToken"); `,
		"reqParams.getAll":  `var v = reqParams.getAll("SecurityToken")[0]; `,
		"reqParams.entries": `var v = reqParams.entries()[1][1]; `,
		"url_decode of raw": `var v = url_decode(reqParams.raw()); `,
	}
	for mname, mark := range marks {
		for rname, read := range readers {
			t.Run(mname+"/"+rname, func(t *testing.T) {
				logger, logBuf := captureLog()
				step, err := Compile(config.Script{Inline: reqHead + `try { ` + read + stolen + ` } catch (e) { reqHeaders.set("X-Caught", String(e).slice(0, 200)) }
}`}, testBuild(t), Options{Logger: logger})
				if err != nil {
					t.Fatal(err)
				}
				written := mark(token)
				x := newExchange("/p?a=1&SecurityToken="+written, `{}`, nil)
				x.MarkSensitive(written) // as the step marks it
				reqErr := step.SignRequest(context.Background(), x)
				outputs := [][]byte{[]byte(headerText(x.Request.Header)), logBuf.Bytes(), x.Request.Body()}
				if reqErr != nil {
					outputs = append(outputs, []byte(reqErr.Error()))
				}
				checkNoSecret(t, outputs, []byte(token))
				if reqErr == nil {
					t.Fatal("the attack ran to the end; it must fail its request")
				}
			})
		}
	}
}
