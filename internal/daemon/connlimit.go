package daemon

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"
)

// capListener bounds a listener's open connections: at most perPeer from one IP address
// (beyond that, a new one is closed at once) and at most total in all. At the total, a new
// connection takes the place of the oldest one with no request in progress (new or idle, as
// the http.Server reports through connState), or is closed when every connection is busy. One
// client, or several clients from many addresses, flooding the admin port with idle
// connections thus neither exhausts the process's file descriptors, which ext_proc needs, nor
// locks out the kubelet's /readyz probe: the probe's connection is the newest and sends its
// request at once, and a flood of idle ones only evicts its own. (A cap that blocks Accept at
// the total let nine addresses of 32 idle connections each hold the port.)
func capListener(l net.Listener, total, perPeer int) *peerCap {
	return &peerCap{Listener: l, total: total, max: perPeer, open: map[string]int{}, conns: map[*peerConn]struct{}{}}
}

type peerCap struct {
	net.Listener
	total, max int
	mu         sync.Mutex
	open       map[string]int
	conns      map[*peerConn]struct{}
}

func (p *peerCap) Accept() (net.Conn, error) {
	for {
		c, err := p.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := peerIP(c)
		p.mu.Lock()
		if p.open[ip] >= p.max {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		var victim *peerConn
		if len(p.conns) >= p.total {
			if victim = p.oldestIdle(); victim == nil {
				p.mu.Unlock()
				_ = c.Close() // every connection has a request in progress, bounded by the server's timeouts
				continue
			}
			victim.busy = true // not chosen twice
		}
		p.open[ip]++
		pc := &peerConn{Conn: c, since: time.Now()}
		pc.release = func() { p.release(pc, ip) }
		p.conns[pc] = struct{}{}
		p.mu.Unlock()
		if victim != nil {
			_ = victim.Close()
		}
		return pc, nil
	}
}

// oldestIdle is the connection without a request in progress that has been so the longest.
func (p *peerCap) oldestIdle() *peerConn {
	var out *peerConn
	for c := range p.conns {
		if !c.busy && (out == nil || c.since.Before(out.since)) {
			out = c
		}
	}
	return out
}

// connState is the http.Server's ConnState hook: it tells which connections have a request in
// progress.
func (p *peerCap) connState(c net.Conn, s http.ConnState) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	pc, ok := c.(*peerConn)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, open := p.conns[pc]; !open {
		return
	}
	switch s {
	case http.StateActive, http.StateHijacked:
		pc.busy = true
	case http.StateIdle:
		pc.busy, pc.since = false, time.Now()
	}
}

func (p *peerCap) release(pc *peerConn, ip string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, pc)
	if p.open[ip]--; p.open[ip] <= 0 {
		delete(p.open, ip)
	}
}

func peerIP(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return c.RemoteAddr().String()
}

type peerConn struct {
	net.Conn
	once    sync.Once
	release func()
	busy    bool      // a request is in progress (guarded by the peerCap's mu)
	since   time.Time // opened, or last became idle
}

func (c *peerConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
