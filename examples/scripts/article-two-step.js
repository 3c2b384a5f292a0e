function (reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV, PrefixUrl, TokenUrl) {
  var ts = reqBody.get('timestamp');
  var token = token_load();
  if (!token) {
    var reqData = {
      "appKey": AppKey,
      "data": base64_encode(aes_cbc_pkcs5_encrypt(AesKey, '{"appKey": "'+AppKey+'"}', AesIV)),
      "timestamp": ts
    };
    reqData["sign"] = sha256('appKey='+AppKey+'&data='+reqData["data"]+'&timestamp='+ts).toUpperCase();
    var respObj = JSON.parse(http_post_json(TokenUrl, reqData, {}));
    if (respObj["data"]["accessToken"]) {
      token = "Bearer "+respObj["data"]["accessToken"];
      token_save(token, respObj["data"]["expireTime"]);
    }
  }
  reqHeaders.set("Authorization", token);
  reqHeaders.setURI(PrefixUrl + reqHeaders.getURI());
  var originData = reqBody.get('data');
  var enData = base64_encode(aes_cbc_pkcs5_encrypt(AesKey, originData, AesIV));
  reqBody.set("appKey", AppKey);
  reqBody.set('data', enData);
  var sign = sha256(reqBody.buildSignStr()).toUpperCase();
  reqBody.set('sign', sign);
}

function (respBody, AppKey, AesKey, AesIV, PrefixUrl, TokenUrl) {
  if (401 == respBody["code"]) {
    token_delete();
  }
  if (respBody["data"]) {
    respBody["data"] = aes_cbc_pkcs5_decrypt(AesKey, base64_decode(respBody["data"]), AesIV);
  }
}
