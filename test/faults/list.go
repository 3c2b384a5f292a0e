package faults

// allFaults is the suite, in order. Faults that share the Vault dev server run in an order that
// leaves it as the next one needs it.
func allFaults() []fault {
	return []fault{
		{"vault slow (SIGSTOP)", "cached 200, uncached 503/504", vaultSlow},
		{"vault stopped mid-run", "cached 200 (stale), uncached 503", vaultStoppedMidRun},
		{"vault down at start", "503 until vault is back, then 200", vaultDownAtStart},
		{"config store unreachable at restart", "200 from last-known-good", configStoreUnreachable},
		{"token endpoint 500", "502", tokenFault("500")},
		{"token endpoint timeout", "504", tokenFault("timeout")},
		{"token endpoint empty 200", "502", tokenFault("empty200")},
		{"token endpoint garbage JSON", "502", tokenFault("garbage")},
		{"token endpoint 401 every call", "502", tokenFault("401")},
		{"provider 401 (token revoked)", "200 (purge, one retry)", provider401},
		{"provider timeout", "504 (route timeout)", providerTimeout},
		{"invalid config pushed", "error; old config serves 200", invalidConfigPushed},
		{"keygate restarted under load", "200 or 5xx, never unsigned", restartUnderLoad},
		{"rolling deploy of two replicas under load", "200 only (drain, health check)", rollingDeploy},
		{"script infinite loop", "504 (stage script)", scriptFault("loop.faults.local")},
		{"script exception", "500 (stage script)", scriptFault("throws.faults.local")},
		{"script bomb new Array(5e7).fill(1)", "500 (stage script, memory)", scriptFault("bomb-fill.faults.local")},
		{"script bomb 'x'.repeat(3e8)", "500 (stage script, memory)", scriptFault("bomb-repeat.faults.local")},
		{"script bomb new Uint8Array(1e9).fill", "500 (stage script, memory)", scriptFault("bomb-typed.faults.local")},
		{"hostile script (key extraction)", "500 (stage script); no key leaves", scriptFault("hostile.faults.local")},
		{"body over the limit", "413", bodyOverLimit},
		{"body above gRPC's default 4 MiB", "200 (gRPC limit sized)", bodyAboveGRPCDefault},
		{"admin connection flood (300 idle, one peer)", "/readyz 200; signed requests 200 (p99 noted)", adminConnectionFlood},
		{"unauthenticated audit flood (3,000)", "tenant events intact; 401/429", unauthenticatedAuditFlood},
		{"20,000 idle ext_proc streams", "beyond 4,096 refused; memory bounded; then 200", idleExtProcStreams},
		{"forged callback (WeChat Pay, Alipay)", "401 FAIL/failure; 0 delivered", forgedCallback},
		{"replayed callback", "200 once, then 403; 1 delivered", replayedCallback},
		{"callback with an expired timestamp", "401; 0 delivered", expiredCallback},
		{"callback with a wrong platform serial", "401; 0 delivered", wrongSerialCallback},
		{"real credential sent by a service (aws_sigv4_sdk)", "403 (placeholder); 0 re-signed", realCredentialSent},
	}
}
