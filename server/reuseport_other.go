//go:build !linux

package server

import (
	"errors"
	"net"
)

// ReusePort is Linux's (SO_REUSEPORT with a socket selection program).
const reusePortSupported = false

var errNoReusePort = errors.New("reusePort needs Linux")

type steering string

const steeringCBPF steering = "cbpf"

type reusePortGroup struct{ steering steering }

func listenUDP(ip net.IP, port int, reusePort bool) (*net.UDPConn, error) {
	if reusePort {
		return nil, errNoReusePort
	}
	return net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
}

func listenTCP(ip net.IP, port int, reusePort bool) (net.Listener, error) {
	if reusePort {
		return nil, errNoReusePort
	}
	return net.ListenTCP("tcp", &net.TCPAddr{IP: ip, Port: port})
}

func joinReusePortGroup(*net.UDPConn, *Config) (*reusePortGroup, error) { return nil, errNoReusePort }

func (*reusePortGroup) close() {}

func (*reusePortGroup) String() string { return "" }
