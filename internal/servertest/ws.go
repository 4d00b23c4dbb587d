package servertest

import (
	"context"
	"crypto/tls"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// DialSIPWS opens a raw SIP peer over a WebSocket (RFC 7118) to url
// (wss://host:port/path), asking for the subprotocol sip, as a browser
// client does: its requests carry Via SIP/2.0/WSS and a Contact with
// transport=ws, both on a random .invalid host (§5, §7), so that answers
// and requests can only come back over this connection. Each Send is one
// WebSocket message, each Read one message. cfg carries the trust; header,
// if any, is added to the upgrade request (Origin, say).
func DialSIPWS(url string, cfg *tls.Config, header http.Header) (*SIP, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		Subprotocols: []string{"sip"},
		HTTPHeader:   header,
		HTTPClient:   &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}},
	})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(-1)
	p := &SIP{Transport: "WSS", ws: c, local: RandomToken() + ".invalid", in: make(chan wsMessage, 64)}
	go p.pump()
	return p, nil
}

// wsMessage is one WebSocket message read, or the error that ended reading.
type wsMessage struct {
	data []byte
	err  error
}

// pump reads the WebSocket into p.in until it fails (the server closed
// it, or Close): a Read that times out must not cut the connection, as
// a read context that ends would in coder/websocket.
func (p *SIP) pump() {
	defer close(p.in)
	for {
		_, data, err := p.ws.Read(context.Background())
		p.in <- wsMessage{data, err}
		if err != nil {
			return
		}
	}
}

// readWS returns the next WebSocket message within timeout.
func (p *SIP) readWS(timeout time.Duration) ([]byte, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case m, ok := <-p.in:
		if !ok {
			return nil, p.wsErr
		}
		if m.err != nil {
			p.wsErr = m.err
		}
		return m.data, m.err
	case <-t.C:
		return nil, ErrNoAnswer
	}
}

// WS is the peer's WebSocket (nil for another transport): a test that
// sends a binary message or an oversized one, or reads the close status.
func (p *SIP) WS() *websocket.Conn { return p.ws }
