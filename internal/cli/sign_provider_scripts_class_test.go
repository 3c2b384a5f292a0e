package cli

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestProviderScriptsMatchBuiltinsBeyondTheExample: the scripts are built for the class, not the
// published example: on requests no document shows (encoded and repeated query pairs, unicode,
// bodies, extra provider headers, several values of one header, encoded paths), each script
// prints what the built-in scheme prints, or both refuse the request.
func TestProviderScriptsMatchBuiltinsBeyondTheExample(t *testing.T) {
	dir := t.TempDir()
	type scheme struct{ name, builtin, script, host, time, nonce string }
	schemes := []scheme{
		{"tc3", "tc3-example", "tencent-cvm", "cvm.tencentcloudapi.com", "2019-02-25T16:44:25Z", ""},
		{"acs3", "acs3-example", "acs3-script", "ecs.cn-shanghai.aliyuncs.com", "2023-10-26T10:22:32Z", "3156853299f313e23d1673dc12e1703d"},
		{"aliyun_rpc", "aliyun-rpc-example", "aliyun-ecs", "ecs.aliyuncs.com", "2016-02-23T12:46:24Z", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"},
		{"baidu_bce", "baidu-bce-example", "baidu-bce-script", "bj.bcebos.com", "2015-04-27T08:23:49Z", ""},
		{"huawei_apig", "huawei-apig-example", "huawei-apig-script", "service.region.example.com", "2019-11-15T03:36:55Z", ""},
		{"volcengine", "volcengine-example", "volcengine-script", "iam.volcengineapi.com", "2020-12-30T08:18:05Z", ""},
		{"amap", "amap-example", "amap-script", "restapi.amap.com", "2024-01-02T03:04:05Z", ""},
		{"baidu_map_sn", "baidu-map-example", "baidu-map", "api.map.baidu.com", "2024-01-02T03:04:05Z", ""},
	}
	// request line and headers, then the body (Content-Length is written from it)
	requests := map[string][2]string{
		"get encoded query": {"GET /a/b%20c/%E4%BD%A0?z=1&a=x%2By&s=a+b&u=%E7%99%BE&e=&k=%2F HTTP/1.1\nContent-Type: application/json", ""},
		"repeated name":     {"GET /r?b=2&a=1&b=1 HTTP/1.1\nContent-Type: application/json", ""},
		"post json":         {"POST /v2/items?Action=Create HTTP/1.1\nContent-Type: application/json", `{"a":"\u672a","b":[1,2]}`},
		"provider headers": {"PUT /obj?partNumber=1 HTTP/1.1\nContent-Type: text/plain\nX-Acs-Meta: m1\nX-Bce-Meta-A:  v \nX-Sdk-Trace: t\n" +
			"X-Tc-Region: ap-beijing\nX-Sdk-Multi: 1\nX-Sdk-Multi: 2", "abc"},
		"empty post":    {"POST / HTTP/1.1\nContent-Type: application/json", ""},
		"no type":       {"POST /n HTTP/1.1", "{}"},
		"get form type": {"GET /list?Limit=10&Name=a%20b&Tag=%7Ex HTTP/1.1\nContent-Type: application/x-www-form-urlencoded", ""},
		"form body":     {"POST /?Action=Run HTTP/1.1\nContent-Type: application/x-www-form-urlencoded", "RegionId=cn&Name=a+b%21"},
	}
	// What the scripts leave to the built-in schemes (docs/custom-mode.md, "Every cloud scheme as
	// a script"): the map scripts refuse a form-encoded request, with a clear error.
	refused := map[string]string{"amap/form body": "form body", "baidu_map_sn/form body": "form body",
		"amap/get form type": "form body", "baidu_map_sn/get form type": "form body"}
	for _, s := range schemes {
		for name, req := range requests {
			t.Run(s.name+"/"+name, func(t *testing.T) {
				line, headers, _ := strings.Cut(req[0], "\n")
				text := line + "\nHost: " + s.host + "\n"
				if headers != "" {
					text += headers + "\n"
				}
				text += "Content-Length: " + strconv.Itoa(len(req[1])) + "\n\n" + req[1]
				file := filepath.Join(dir, s.name+"-"+strings.ReplaceAll(name, " ", "-")+".http")
				if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
				run := func(config, provider string) (string, error) {
					args := []string{"sign", "--config", config, "--provider", provider, "--request", file, "--time", s.time}
					if s.nonce != "" {
						args = append(args, "--nonce", s.nonce)
					}
					return runMain(t, args...)
				}
				want, wantErr := run(filepath.Join(examplesDir, s.name+".yaml"), s.builtin)
				got, gotErr := run(filepath.Join(scriptsDir, s.name+".yaml"), s.script)
				if msg, ok := refused[s.name+"/"+name]; ok {
					if gotErr == nil || !strings.Contains(gotErr.Error(), msg) {
						t.Fatalf("the script should refuse with a clear error naming the %s, got %v", msg, gotErr)
					}
					return
				}
				switch {
				case wantErr != nil && gotErr != nil:
					t.Logf("both refuse: built-in %v; script %v", wantErr, gotErr)
					return // both refuse (a repeated name)
				case wantErr != nil || gotErr != nil:
					t.Fatalf("built-in err %v, script err %v\nbuilt-in:\n%s\nscript:\n%s", wantErr, gotErr, want, got)
				case got != want:
					t.Fatalf("the script differs from the built-in\n--- script:\n%s\n--- built-in:\n%s", got, want)
				}
			})
		}
	}
}
