// Baidu AI Cloud bce-auth-v1, in custom mode: the same request the built-in `baidu_bce` scheme
// signs (docs/schemes.md), read from the request as it will leave. The AccessKey ID is
// vars.app_key; vars.expiration (seconds, default 1800) and vars.omit_signed_headers ("true":
// leave the list out, BCE then checks its default set, the form of Baidu's example) as the
// scheme's parameters. The secret access key is an HMAC key with a chain of 2: the signing key
// is the HEX TEXT of HMAC(sk, authStringPrefix), so hmac_sha256 (hex) returns it as a handle
// usable only as the next key, and only the signature comes out as text.
function sign(reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV, PrefixUrl) {
  reqHeaders.setURI(PrefixUrl + reqHeaders.getURI());
  var date = new Date(now()).toISOString().replace(/\.\d+Z$/, "Z"); // 2015-04-27T08:23:49Z
  reqHeaders.set("X-Bce-Date", date);

  // BCE's default set: host, content-type, content-md5, content-length, x-bce-*. Lines are
  // name:value, both RFC 3986-encoded, sorted.
  var names = reqHeaders.names().filter(function (n) {
    return n === "host" || n === "content-type" || n === "content-md5" || n.indexOf("x-bce-") === 0;
  });
  var values = {};
  names.forEach(function (n) {
    values[n] = reqHeaders.getAll(n).map(function (v) { return v.trim(); }).join(",");
  });
  var method = reqHeaders.getMethod();
  var length = reqBody.rawBytes().byteLength; // Envoy sends Content-Length from the body that leaves
  if (length > 0 || method === "POST" || method === "PUT" || method === "PATCH") {
    names.push("content-length");
    values["content-length"] = String(length);
    names = sorted(names);
  }
  var headerLines = sorted(names.map(function (n) { return url_encode(n) + ":" + url_encode(values[n]); }));

  var canonicalRequest = [
    method,
    canonicalPath(reqHeaders.getURI()),
    canonicalQuery(reqParams.entries()),
    headerLines.join("\n")
  ].join("\n");

  var prefix = "bce-auth-v1/" + AppKey + "/" + date + "/" + (vars.expiration || "1800");
  var signingKey = hmac_sha256(secret("secret_access_key"), prefix); // hex text, a handle
  var signature = hmac_sha256(signingKey, canonicalRequest);
  var signedHeaders = vars.omit_signed_headers === "true" ? "" : names.join(";");
  reqHeaders.set("Authorization", prefix + "/" + signedHeaders + "/" + signature);
}

// The path decoded, then every byte but RFC 3986's unreserved characters and "/" encoded.
function canonicalPath(uri) {
  var q = uri.indexOf("?"), path = q < 0 ? uri : uri.slice(0, q);
  if (path === "") return "/";
  return url_decode(path).split("/").map(function (s) { return url_encode(s); }).join("/");
}

// Every pair but "authorization", as encoded "name=value" (RFC 3986), sorted as strings.
function canonicalQuery(entries) {
  return sorted(entries.filter(function (p) { return p[0].toLowerCase() !== "authorization"; })
    .map(function (p) { return url_encode(p[0]) + "=" + url_encode(p[1]); })).join("&");
}
