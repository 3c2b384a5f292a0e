package signer

// Builtins is the catalogue of built-in schemes. cmd builds it once and passes it to the
// config compiler; there is no global registry.
func Builtins() Catalog {
	c := Catalog{
		"static":       newStatic,
		"simple":       newSimple,
		"token":        newToken,
		"hmac":         newHMAC,
		"rsa":          newRSA,
		"aes_cbc":      newAESCBC,
		"aes_gcm":      newAESGCM,
		"alipay_rsa2":  newAlipayRSA2,
		"wechatpay_v3": newWechatPayV3,
		"aws_sigv4":    newAWSSigV4,
		"rfc9421":      newRFC9421,
		"tc3":          newTC3,
		"acs3":         newACS3,
		"aliyun_rpc":   newAliyunRPC,
		"baidu_bce":    newBaiduBCE,
		"huawei_apig":  newHuaweiAPIG,
		"volcengine":   newVolcengine,
		"amap":         newAmap,
		"baidu_map_sn": newBaiduMapSN,
	}
	addPlaceholderSchemes(c)
	addCallbackSchemes(c)
	return c
}
