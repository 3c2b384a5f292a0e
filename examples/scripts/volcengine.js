// Volcano Engine (and BytePlus) HMAC-SHA256 request signing, in custom mode: the same request the
// built-in `volcengine` scheme signs (docs/schemes.md), read from the request as it will leave.
// The AccessKey ID is vars.app_key, the region and service vars.region and vars.service. The
// secret access key is an HMAC key with a chain of 5: kDate, kRegion, kService and kSigning stay
// handles, only the signature comes out as text.
function sign(reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV, PrefixUrl) {
  reqHeaders.setURI(PrefixUrl + reqHeaders.getURI());
  if (!vars.region || !vars.service) throw new Error("volcengine.js needs vars.region and vars.service");
  var xdate = new Date(now()).toISOString().replace(/\.\d+Z$/, "Z").replace(/[-:]/g, ""); // 20201230T081805Z
  var payload = bodySHA256(reqBody);
  reqHeaders.set("X-Date", xdate);
  reqHeaders.set("X-Content-Sha256", payload);

  // Signed: host, content-type, x-date, x-content-sha256, x-security-token (when present).
  var names = reqHeaders.names().filter(function (n) {
    return n === "host" || n === "content-type" || n === "x-date" || n === "x-content-sha256" ||
      n === "x-security-token";
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
  var scope = xdate.slice(0, 8) + "/" + vars.region + "/" + vars.service + "/request";
  var stringToSign = "HMAC-SHA256\n" + xdate + "\n" + scope + "\n" + sha256(canonicalRequest);

  var k = hmac_sha256_bytes(secret("secret_access_key"), xdate.slice(0, 8));
  k = hmac_sha256_bytes(k, vars.region);
  k = hmac_sha256_bytes(k, vars.service);
  k = hmac_sha256_bytes(k, "request");
  reqHeaders.set("Authorization", "HMAC-SHA256 Credential=" + AppKey + "/" + scope +
    ", SignedHeaders=" + signedHeaders + ", Signature=" + hmac_sha256(k, stringToSign));
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
