// Package tlsrecordtest is a TLS 1.3 client for tests that can also write
// records of its own choosing under its application traffic keys (RFC
// 8446 §5.2, §7.3): what crypto/tls never sends, such as an empty
// application data record, which a server must read and go past
// (RFC 8446 §5.4 allows zero-length application data).
package tlsrecordtest

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// Record content types (RFC 8446 §5.1).
const (
	ApplicationData = 23
	Handshake       = 22
)

// Client is a TLS 1.3 client connection whose written records are
// counted, so that Inject seals its own with the next sequence number.
// Once a record was injected, Write seals what it writes the same way
// (the tls.Conn's own records would reuse sequence numbers); reading is
// the tls.Conn's.
type Client struct {
	*tls.Conn
	raw  *countConn
	keys *keyLog

	mu       sync.Mutex
	injected bool
}

// Dial connects to addr and completes a TLS 1.3 handshake, trusting any
// certificate (the server's is self-signed in tests).
func Dial(addr string) (*Client, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c := &Client{raw: &countConn{Conn: nc}, keys: &keyLog{}}
	c.Conn = tls.Client(c.raw, &tls.Config{
		InsecureSkipVerify:          true,
		MinVersion:                  tls.VersionTLS13,
		DynamicRecordSizingDisabled: true, // a Write of less than 16 KiB is one record
		KeyLogWriter:                c.keys,
	})
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	err = c.Handshake()
	nc.SetDeadline(time.Time{})
	if err != nil {
		nc.Close()
		return nil, err
	}
	c.raw.mark()
	return c, nil
}

// Raw is the TCP connection under the TLS one.
func (c *Client) Raw() net.Conn { return c.raw.Conn }

// Write writes p through the tls.Conn, or after an Inject as injected
// application data records.
func (c *Client) Write(p []byte) (int, error) {
	c.mu.Lock()
	injected := c.injected
	c.mu.Unlock()
	if !injected {
		return c.Conn.Write(p)
	}
	for n := 0; n < len(p); {
		k := min(len(p)-n, 1<<14)
		if err := c.Inject(ApplicationData, p[n:n+k]); err != nil {
			return n, err
		}
		n += k
	}
	return len(p), nil
}

// Inject writes one record of type typ holding content, sealed with the
// client's application traffic keys and the next sequence number, on the
// TCP connection. A test injects between its writes, not during one.
func (c *Client) Inject(typ byte, content []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.injected = true
	cs := c.ConnectionState()
	aead, iv, err := c.keys.traffic(cs.CipherSuite)
	if err != nil {
		return err
	}
	inner := append(append([]byte{}, content...), typ)
	hdr := []byte{ApplicationData, 3, 3, 0, 0}
	binary.BigEndian.PutUint16(hdr[3:], uint16(len(inner)+aead.Overhead()))
	nonce := make([]byte, len(iv))
	copy(nonce, iv)
	seq := c.raw.sent()
	for i := range 8 {
		nonce[len(nonce)-1-i] ^= byte(seq >> (8 * i))
	}
	rec := aead.Seal(hdr, nonce, inner, hdr)
	_, err = c.raw.Write(rec)
	return err
}

// keyLog keeps the client's application traffic secret (the NSS key log
// format crypto/tls writes to KeyLogWriter).
type keyLog struct {
	mu     sync.Mutex
	secret []byte
}

func (k *keyLog) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) == 3 && string(f[0]) == "CLIENT_TRAFFIC_SECRET_0" {
			s, err := hex.DecodeString(string(f[2]))
			if err != nil {
				return 0, err
			}
			k.mu.Lock()
			k.secret = s
			k.mu.Unlock()
		}
	}
	return len(p), nil
}

// traffic derives the record protection key and IV from the secret
// (RFC 8446 §7.3).
func (k *keyLog) traffic(suite uint16) (cipher.AEAD, []byte, error) {
	k.mu.Lock()
	secret := k.secret
	k.mu.Unlock()
	if secret == nil {
		return nil, nil, errors.New("tlsrecordtest: no client traffic secret logged")
	}
	var h func() hash.Hash
	var keyLen int
	switch suite {
	case tls.TLS_AES_128_GCM_SHA256:
		h, keyLen = sha256.New, 16
	case tls.TLS_AES_256_GCM_SHA384:
		h, keyLen = sha512.New384, 32
	case tls.TLS_CHACHA20_POLY1305_SHA256:
		h, keyLen = sha256.New, chacha20poly1305.KeySize
	default:
		return nil, nil, fmt.Errorf("tlsrecordtest: cipher suite %s not supported", tls.CipherSuiteName(suite))
	}
	key, err := expandLabel(h, secret, "key", keyLen)
	if err != nil {
		return nil, nil, err
	}
	iv, err := expandLabel(h, secret, "iv", 12)
	if err != nil {
		return nil, nil, err
	}
	if suite == tls.TLS_CHACHA20_POLY1305_SHA256 {
		aead, err := chacha20poly1305.New(key)
		return aead, iv, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, nil, err
	}
	aead, err := cipher.NewGCM(block)
	return aead, iv, err
}

// expandLabel is HKDF-Expand-Label with an empty context (RFC 8446 §7.1).
func expandLabel(h func() hash.Hash, secret []byte, label string, length int) ([]byte, error) {
	full := "tls13 " + label
	info := []byte{byte(length >> 8), byte(length), byte(len(full))}
	info = append(info, full...)
	info = append(info, 0)
	return hkdf.Expand(h, secret, string(info), length)
}

// countConn counts the records written on it since mark: the sequence
// number of the next application data record.
type countConn struct {
	net.Conn
	mu   sync.Mutex
	on   bool
	n    uint64
	hdr  [5]byte
	hn   int
	left int
}

func (c *countConn) mark() {
	c.mu.Lock()
	c.on, c.n, c.hn, c.left = true, 0, 0, 0
	c.mu.Unlock()
}

func (c *countConn) sent() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *countConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.on {
		for b := p; len(b) > 0; {
			if c.hn < len(c.hdr) {
				c.hdr[c.hn] = b[0]
				c.hn++
				b = b[1:]
				if c.hn == len(c.hdr) {
					c.left = int(binary.BigEndian.Uint16(c.hdr[3:]))
					if c.left == 0 {
						c.hn = 0
						c.n++
					}
				}
				continue
			}
			k := min(c.left, len(b))
			c.left -= k
			b = b[k:]
			if c.left == 0 {
				c.hn = 0
				c.n++
			}
		}
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}
