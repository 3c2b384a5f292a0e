package testkit

import "syscall"

// ProcAttr kills a subprocess if the test binary dies without cleaning up (Linux only).
func ProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
