// Huawei Cloud APIG AK/SK signing (SDK-HMAC-SHA256), in custom mode: the same request the
// built-in `huawei_apig` scheme signs (docs/schemes.md), read from the request as it will
// leave. The AK is vars.app_key; the SK is an HMAC key used once (chain 1).
function sign(reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV, PrefixUrl) {
  reqHeaders.setURI(PrefixUrl + reqHeaders.getURI());
  var date = new Date(now()).toISOString().replace(/\.\d+Z$/, "Z").replace(/[-:]/g, ""); // 20191115T033655Z
  reqHeaders.set("X-Sdk-Date", date);

  // Signed: host, content-type, x-sdk-*, x-project-id, x-domain-id, x-security-token.
  var names = reqHeaders.names().filter(function (n) {
    return n === "host" || n === "content-type" || n === "x-project-id" || n === "x-domain-id" ||
      n === "x-security-token" || n.indexOf("x-sdk-") === 0;
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
    bodySHA256(reqBody)
  ].join("\n");
  var stringToSign = "SDK-HMAC-SHA256\n" + date + "\n" + sha256(canonicalRequest);
  var signature = hmac_sha256(secret("secret_key"), stringToSign);
  reqHeaders.set("Authorization", "SDK-HMAC-SHA256 Access=" + AppKey + ", SignedHeaders=" +
    signedHeaders + ", Signature=" + signature);
}

// The body's SHA-256: its text when it is UTF-8, else its bytes.
function bodySHA256(reqBody) {
  try {
    return sha256(reqBody.raw());
  } catch (e) {
    return sha256(reqBody.rawBytes());
  }
}

// Huawei's canonical URI: the decoded path, each segment encoded (RFC 3986), ending in "/".
function canonicalPath(uri) {
  var q = uri.indexOf("?"), path = q < 0 ? uri : uri.slice(0, q);
  var out = url_decode(path).split("/").map(function (s) { return url_encode(s); }).join("/");
  if (out.charAt(out.length - 1) !== "/") out += "/";
  if (out.charAt(0) !== "/") out = "/" + out;
  return out;
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
