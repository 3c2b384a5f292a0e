//go:build !linux

package testkit

import "syscall"

func ProcAttr() *syscall.SysProcAttr { return nil }
