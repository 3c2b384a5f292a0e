// Alibaba Cloud RPC signature v1 (HMAC-SHA1), in custom mode: the same request the built-in
// `aliyun_rpc` scheme signs (docs/schemes.md). The caller sends the operation's parameters in
// the query (or, for a POST, a form body, signed with them); the script replaces the common
// ones (AccessKeyId from vars.app_key, a SignatureNonce from nonce() and a Timestamp, both
// pinned by keygate sign --nonce/--time), canonicalizes every pair (RFC 3986, sorted by encoded
// name), percent-encodes the canonical query a second time into the string to sign, and writes
// the query back sorted with Signature last. The AccessKey secret is an HMAC key with known
// text after it (secret + "&"), which its role allows.
var COMMON = ["AccessKeyId", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp", "SecurityToken", "Signature"];

function sign(reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV, PrefixUrl) {
  reqHeaders.setURI(PrefixUrl + reqHeaders.getURI());
  var query = reqParams.entries().filter(function (p) { return COMMON.indexOf(p[0]) < 0; });
  query.push(["AccessKeyId", AppKey], ["SignatureMethod", "HMAC-SHA1"], ["SignatureVersion", "1.0"],
    ["SignatureNonce", nonce()], ["Timestamp", new Date(now()).toISOString().replace(/\.\d+Z$/, "Z")]);

  var form = formPairs(reqHeaders, reqBody);
  form.forEach(function (p) {
    if (COMMON.indexOf(p[0]) >= 0) throw new Error("form body parameter " + p[0] + " is set by the script");
  });
  var stringToSign = reqHeaders.getMethod() + "&" + url_encode("/") + "&" + url_encode(canonical(query.concat(form)));
  var signature = hmac_sha1_base64(secret("access_key_secret") + "&", stringToSign);

  var uri = reqHeaders.getURI(), q = uri.indexOf("?");
  reqHeaders.setURI((q < 0 ? uri : uri.slice(0, q)) + "?" + canonical(query) + "&Signature=" + url_encode(signature));
}

// The pairs RFC 3986-encoded, sorted by encoded name, "&"-joined; a repeated name is an error
// (Alibaba keeps one value per name, so which one was signed would be a guess).
function canonical(pairs) {
  var enc = pairs.map(function (p) { return [url_encode(p[0]), url_encode(p[1])]; });
  enc.sort(function (a, b) { return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0; });
  for (var i = 1; i < enc.length; i++) {
    if (enc[i][0] === enc[i - 1][0]) throw new Error("parameter " + enc[i][0] + " appears more than once");
  }
  return enc.map(function (p) { return p[0] + "=" + p[1]; }).join("&");
}

// The pairs of an x-www-form-urlencoded body, decoded; none for any other body.
function formPairs(reqHeaders, reqBody) {
  var ct = reqHeaders.get("Content-Type");
  if (ct === null || !/^\s*application\/x-www-form-urlencoded\s*(;|$)/i.test(ct)) return [];
  return reqBody.raw().split("&").filter(function (s) { return s !== ""; }).map(function (s) {
    var eq = s.indexOf("=");
    return eq < 0 ? [form_decode(s), ""] : [form_decode(s.slice(0, eq)), form_decode(s.slice(eq + 1))];
  });
}
