// Alibaba Cloud RPC signature v1 (HMAC-SHA1), in custom mode. The caller sends the operation's
// parameters in the query; the script adds the common ones (AccessKeyId from vars.app_key, a
// SignatureNonce from uuid() and a Timestamp, both pinned by keygate sign --nonce/--time),
// canonicalizes every pair it reads back from the query, percent-encodes the canonical query a
// second time into the string to sign, and adds Signature. The AccessKey secret is an HMAC key
// with known text after it (secret + "&"), which its role allows.
function sign(reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV, PrefixUrl) {
  reqHeaders.setURI(PrefixUrl + reqHeaders.getURI());
  reqParams.set("AccessKeyId", AppKey);
  reqParams.set("SignatureMethod", "HMAC-SHA1");
  reqParams.set("SignatureVersion", "1.0");
  reqParams.set("SignatureNonce", uuid());
  reqParams.set("Timestamp", new Date(now()).toISOString().replace(/\.\d+Z$/, "Z"));

  var pairs = reqParams.entries().filter(function (p) { return p[0] !== "Signature"; });
  pairs.sort(function (a, b) { return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0; });
  var canonical = pairs.map(function (p) { return url_encode(p[0]) + "=" + url_encode(p[1]); }).join("&");
  var stringToSign = reqHeaders.getMethod() + "&" + url_encode("/") + "&" + url_encode(canonical);
  reqParams.set("Signature", hmac_sha1_base64(secret("access_key_secret") + "&", stringToSign));
}
