package daemon

import (
	"net"
	"sync"

	"golang.org/x/net/netutil"
)

// capListener bounds a listener's open connections: at most total at once (beyond that, new
// connections wait in the kernel's backlog), and at most perPeer from one IP address (beyond
// that, a new one is closed at once). One client flooding the admin port with idle connections
// thus neither exhausts the process's file descriptors, which ext_proc needs, nor locks out
// the kubelet's /readyz probe from another address.
func capListener(l net.Listener, total, perPeer int) net.Listener {
	return &peerCap{Listener: netutil.LimitListener(l, total), max: perPeer, open: map[string]int{}}
}

type peerCap struct {
	net.Listener
	max  int
	mu   sync.Mutex
	open map[string]int
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
		p.open[ip]++
		p.mu.Unlock()
		return &peerConn{Conn: c, release: func() { p.release(ip) }}, nil
	}
}

func (p *peerCap) release(ip string) {
	p.mu.Lock()
	defer p.mu.Unlock()
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
}

func (c *peerConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
