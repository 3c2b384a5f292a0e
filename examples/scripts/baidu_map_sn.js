// Baidu Map web service "sn" (SN signature), in custom mode: the same request the built-in
// `baidu_map_sn` scheme signs (docs/schemes.md):
//   sn = md5(quote_plus(quote(path?query, safe) + sk))
// The request's path and query as they leave ARE quote(path?query) when the caller encoded
// them the usual way (UTF-8, %XX), so the script reads them instead of rebuilding them, appends
// the SK handle, and percent-encodes the whole with url_encode, whose result stays a sign string
// handle: only its md5 comes out. url_encode is RFC 3986 (a space is %20, "~" is kept) where
// Python's quote_plus (and the built-in scheme) write "+" and %7E; neither appears in an encoded
// query or a Baidu SK. vars.app_key is added as ak= when the caller sent none. A form body
// (POST) is refused with a clear error, since a script cannot rewrite a form body: sign those
// with the built-in scheme.
function sign(reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV, PrefixUrl) {
  reqHeaders.setURI(PrefixUrl + reqHeaders.getURI());
  var ct = reqHeaders.get("Content-Type");
  if (ct !== null && /^\s*application\/x-www-form-urlencoded/i.test(ct)) {
    throw new Error("baidu_map_sn.js signs query parameters; this request carries them in a form body (use the built-in baidu_map_sn scheme)");
  }
  reqParams.remove("sn");
  if (AppKey !== undefined && reqParams.get("ak") === null) reqParams.set("ak", AppKey);
  var uri = reqHeaders.getURI(), q = uri.indexOf("?");
  var path = q < 0 ? uri : uri.slice(0, q);
  reqParams.set("sn", md5(url_encode(path + "?" + reqParams.raw() + secret("sk"))));
}
