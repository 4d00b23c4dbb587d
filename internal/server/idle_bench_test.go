package server

import (
	"bufio"
	"fmt"
	"net"
	"testing"

	"github.com/parley-im/parley/internal/config"
)

// BenchmarkIdleSIPConnection reports what an idle SIP TCP connection costs
// the server (issue 20): b.N connections each send an OPTIONS, read its
// answer and stay open; the heap and the goroutine stacks in use after a
// collection, per connection, count sipgo's read loop, the guard and the
// benchmark's own end of each connection (a net.Conn and a bufio.Reader).
//
//	go test ./internal/server -run '^$' -bench IdleSIPConnection -benchtime 2000x
func BenchmarkIdleSIPConnection(b *testing.B) {
	raiseFileLimit()
	srv := benchServer(b, func(c *config.Config) { c.SIP.TCP = "127.0.0.1:0" })
	addr := srv.Addrs().SIPTCP
	heap0, stack0, _ := memInUse()
	conns := make([]net.Conn, 0, b.N)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	b.ReportAllocs()
	for i := range b.N {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		local := c.LocalAddr().String()
		req := fmt.Sprintf("OPTIONS sip:lobby@%s SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bKidle%d\r\n"+
			"From: <sip:b%d@127.0.0.1>;tag=t%d\r\nTo: <sip:lobby@%s>\r\nCall-ID: idle%d\r\nCSeq: 1 OPTIONS\r\n"+
			"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", addr, local, i, i, i, addr, i)
		if _, err := c.Write([]byte(req)); err != nil {
			b.Fatal(err)
		}
		status, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		if status != "SIP/2.0 200 OK\r\n" {
			b.Fatalf("OPTIONS answered %q", status)
		}
	}
	b.StopTimer()
	heap1, stack1, _ := memInUse()
	b.ReportMetric((float64(heap1)-float64(heap0))/float64(b.N), "heap-B/conn")
	b.ReportMetric((float64(stack1)-float64(stack0))/float64(b.N), "stack-B/conn")
}
