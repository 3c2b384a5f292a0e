// Amap (高德) web-service digital signature, in custom mode: the same request the built-in
// `amap` scheme signs (docs/schemes.md):
//   sig = md5(name=value&... sorted by name, values decoded, + private key)
// The private key is sign-string data (its role): appended to the hashed text, it never comes
// out, only the md5 does. vars.key, when set, is added as key= if the caller sent none.
// Parameters are read from the query; a form body (POST) is refused with a clear error, since a
// script cannot rewrite a form body: sign those with the built-in scheme.
function sign(reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV, PrefixUrl) {
  reqHeaders.setURI(PrefixUrl + reqHeaders.getURI());
  var ct = reqHeaders.get("Content-Type");
  if (ct !== null && /^\s*application\/x-www-form-urlencoded/i.test(ct)) {
    throw new Error("amap.js signs query parameters; this request carries them in a form body (use the built-in amap scheme)");
  }
  reqParams.remove("sig");
  if (vars.key && reqParams.get("key") === null) reqParams.set("key", vars.key);

  var pairs = reqParams.entries();
  pairs.sort(function (a, b) { return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0; });
  for (var i = 1; i < pairs.length; i++) {
    if (pairs[i][0] === pairs[i - 1][0]) throw new Error("parameter " + pairs[i][0] + " appears more than once");
  }
  var signString = pairs.map(function (p) { return p[0] + "=" + p[1]; }).join("&");
  reqParams.set("sig", md5(signString + secret("private_key")));
}
