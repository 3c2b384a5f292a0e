// Alibaba Cloud V3 signature (ACS3-HMAC-SHA256), in custom mode: the same request the built-in
// `acs3` scheme signs (docs/schemes.md), read from the request as it will leave. The method,
// host, path, query, headers and the body's bytes come from the request; the AccessKey ID is
// vars.app_key; the AccessKey secret is an HMAC key used once (chain 1: the MAC is the
// signature). x-acs-action and x-acs-version are the caller's (vars.action/vars.version fill
// them in when it sends none). x-acs-date, x-acs-signature-nonce (nonce(), pinned by keygate
// sign --nonce) and x-acs-content-sha256 are set here.
function sign(reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV, PrefixUrl) {
  reqHeaders.setURI(PrefixUrl + reqHeaders.getURI());
  // Header names are written as keygate sign prints the caller's (Go's canonical form); Envoy
  // sends them lower case whatever the spelling (docs/custom-mode.md, "Header names").
  var payload = bodySHA256(reqBody);
  reqHeaders.set("X-Acs-Date", new Date(now()).toISOString().replace(/\.\d+Z$/, "Z"));
  reqHeaders.set("X-Acs-Signature-Nonce", nonce());
  reqHeaders.set("X-Acs-Content-Sha256", payload);
  if (reqHeaders.get("X-Acs-Action") === null && vars.action) reqHeaders.set("X-Acs-Action", vars.action);
  if (reqHeaders.get("X-Acs-Version") === null && vars.version) reqHeaders.set("X-Acs-Version", vars.version);

  // Signed: host, content-type and every x-acs-* header; names lower case, sorted; values
  // trimmed, several joined by ",".
  var names = reqHeaders.names().filter(function (n) {
    return n === "host" || n === "content-type" || n.indexOf("x-acs-") === 0;
  });
  var headerLines = names.map(function (n) {
    return n + ":" + reqHeaders.getAll(n).map(function (v) { return v.trim(); }).join(",") + "\n";
  }).join("");
  var signedHeaders = names.join(";");

  var canonicalRequest = [
    reqHeaders.getMethod(),
    canonicalPath(reqHeaders.getURI()),
    canonicalQuery(reqParams.entries()),
    headerLines,
    signedHeaders,
    payload
  ].join("\n");
  var stringToSign = "ACS3-HMAC-SHA256\n" + sha256(canonicalRequest);
  var signature = hmac_sha256(secret("access_key_secret"), stringToSign);
  reqHeaders.set("Authorization", "ACS3-HMAC-SHA256 Credential=" + AppKey + ",SignedHeaders=" +
    signedHeaders + ",Signature=" + signature);
}

// The body's SHA-256: its text when it is UTF-8, else its bytes.
function bodySHA256(reqBody) {
  try {
    return sha256(reqBody.raw());
  } catch (e) {
    return sha256(reqBody.rawBytes());
  }
}

// The path decoded, then every byte but RFC 3986's unreserved characters and "/" encoded.
function canonicalPath(uri) {
  var q = uri.indexOf("?"), path = q < 0 ? uri : uri.slice(0, q);
  if (path === "") return "/";
  return url_decode(path).split("/").map(function (s) { return url_encode(s); }).join("/");
}

// Every pair decoded and encoded again (RFC 3986), sorted by name, then value.
function canonicalQuery(entries) {
  var pairs = entries.map(function (p) { return [url_encode(p[0]), url_encode(p[1])]; });
  pairs.sort(function (a, b) {
    if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
    return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
  });
  return pairs.map(function (p) { return p[0] + "=" + p[1]; }).join("&");
}
