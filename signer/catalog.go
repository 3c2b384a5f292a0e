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
	}
	addPlaceholderSchemes(c)
	addCallbackSchemes(c)
	return c
}
