package vaulttest

import "syscall"

// procAttr kills the dev server if the test binary dies without cleaning up.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
