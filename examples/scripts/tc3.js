// Tencent Cloud API 3.0, TC3-HMAC-SHA256, in custom mode (docs/custom-mode.md, "Worked example").
// Everything the request already knows is read from it: the method, the upstream host (and from
// it the service), the path and query as they will leave, the body's exact bytes. The provider's
// vars give what it does not (vars.app_key is the SecretId; vars.service, vars.action,
// vars.version and vars.region are optional); the SecretKey is a handle whose
// role is an HMAC key with a chain of 4 (kDate, kService and kSigning stay handles, only the
// signature comes out as text).
function sign(reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV, PrefixUrl) {
  reqHeaders.setURI(PrefixUrl + reqHeaders.getURI()); // the upstream path, as it will leave

  var host = reqHeaders.getHost();                     // cvm.tencentcloudapi.com
  var service = vars.service || host.split(".")[0];    // cvm
  var ts = Math.floor(now() / 1000);                   // pinned by keygate sign --time
  var date = new Date(ts * 1000).toISOString().slice(0, 10);  // UTC, as TC3 requires

  var contentType = reqHeaders.get("Content-Type");
  if (!contentType) {
    throw new Error("tc3 signs Content-Type and the request has none"); // as the built-in scheme
  }
  // The caller's action, version and region win; vars fill in what it did not send.
  if (reqHeaders.get("X-TC-Action") === null && vars.action) reqHeaders.set("X-Tc-Action", vars.action);
  if (reqHeaders.get("X-TC-Version") === null && vars.version) reqHeaders.set("X-Tc-Version", vars.version);
  if (reqHeaders.get("X-TC-Region") === null && vars.region) reqHeaders.set("X-Tc-Region", vars.region);
  reqHeaders.set("X-Tc-Timestamp", String(ts)); // spelled as keygate sign prints the caller's; Envoy sends it lower case

  // 1. CanonicalRequest: the path and query exactly as they leave; the body's SHA-256.
  var uri = reqHeaders.getURI(), q = uri.indexOf("?");
  var canonicalRequest = [
    reqHeaders.getMethod(),
    q < 0 ? uri : uri.slice(0, q),
    reqParams.raw(),
    "content-type:" + contentType.toLowerCase() + "\nhost:" + host.toLowerCase() + "\n",
    "content-type;host",
    sha256(reqBody.raw())
  ].join("\n");

  // 2. StringToSign.
  var scope = date + "/" + service + "/tc3_request";
  var stringToSign = "TC3-HMAC-SHA256\n" + ts + "\n" + scope + "\n" + sha256(canonicalRequest);

  // 3. The key chain, then the signature.
  var k = hmac_sha256_bytes("TC3" + secret("secret_key"), date);
  k = hmac_sha256_bytes(k, service);
  k = hmac_sha256_bytes(k, "tc3_request");
  var signature = hmac_sha256(k, stringToSign);

  // 4. Authorization.
  reqHeaders.set("Authorization", "TC3-HMAC-SHA256 Credential=" + AppKey + "/" + scope +
    ", SignedHeaders=content-type;host, Signature=" + signature);
}
