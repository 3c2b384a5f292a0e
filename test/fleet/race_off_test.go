//go:build !race

package fleet

const raceBuild = false
