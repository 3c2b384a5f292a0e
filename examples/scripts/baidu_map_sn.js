// Baidu Map web service "sn" (SN signature), in custom mode:
//   sn = md5(quote_plus(quote(path?query, safe) + sk))
// The request's path and query as they leave ARE quote(path?query) when the caller encoded
// them the usual way (UTF-8, %XX), so the script reads them instead of rebuilding them, appends
// the SK handle, and percent-encodes the whole with url_encode, whose result stays a sign string
// handle: only its md5 comes out. url_encode is RFC 3986 (a space is %20, "~" is kept) where
// Python 2's quote_plus writes "+" and %7E; neither appears in an encoded query or a Baidu SK.
function sign(reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV, PrefixUrl) {
  reqHeaders.setURI(PrefixUrl + reqHeaders.getURI());
  reqParams.set("ak", AppKey);
  reqParams.set("sn", md5(url_encode(reqHeaders.getURI() + secret("sk"))));
}
