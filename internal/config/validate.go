package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxSize bounds every [msrp] size: the relay allocates up to
// max_header_bytes + max_chunk per connection, and queues up to
// max_pending.
const maxSize = 1 * GiB

// maxRoomName bounds the length of a room name, in bytes.
const maxRoomName = 255

// Validate checks c and returns every problem at once, as Errors (with key
// paths but no positions; Load and FromArgs add those), or nil.
func (c *Config) Validate() error { return c.validate().err() }

func (c *Config) validate() Errors {
	var es Errors

	for i, a := range c.Server.Aliases {
		if err := checkHost(a, false); err != nil {
			es.add(fmt.Sprintf("server.aliases[%d]", i), err)
		}
	}
	if err := checkHost(c.Server.Host, false); err != nil {
		es.add("server.host", err)
	}
	positive(&es, "server.shutdown_timeout", c.Server.ShutdownTimeout)

	checkAddr(&es, "sip.udp", c.SIP.UDP, true)
	checkAddr(&es, "sip.tcp", c.SIP.TCP, true)
	checkAddr(&es, "sip.tls", c.SIP.TLS, true)
	if c.SIP.UDP == "" && c.SIP.TCP == "" && c.SIP.TLS == "" {
		es.addf("sip", "no SIP transport: set sip.udp, sip.tcp, sip.tls or several")
	}
	if sameListener(c.SIP.TLS, c.SIP.TCP) {
		es.addf("sip.tls", fmt.Sprintf("%q is also sip.tcp; TLS needs its own port", c.SIP.TLS))
	}
	positive(&es, "sip.subscription_expires", c.SIP.SubscriptionExpires)
	positive(&es, "sip.min_subscription_expires", c.SIP.MinSubscriptionExpires)
	if c.SIP.MinSubscriptionExpires > c.SIP.SubscriptionExpires {
		es.addf("sip.min_subscription_expires", fmt.Sprintf("%v is more than sip.subscription_expires (%v)", c.SIP.MinSubscriptionExpires, c.SIP.SubscriptionExpires))
	}
	positive(&es, "sip.notify_interval", c.SIP.NotifyInterval)
	positive(&es, "sip.message_timeout", c.SIP.MessageTimeout)
	positive(&es, "sip.idle_timeout", c.SIP.IdleTimeout)

	checkAddr(&es, "admin.listen", c.Admin.Listen, true)
	if c.Admin.Listen != "" && !IsLoopback(c.Admin.Listen) && c.Admin.Token == "" && c.Admin.TokenFile == "" {
		es.addf("admin.listen", fmt.Sprintf("%q is not a loopback address: set admin.token or admin.token_file", c.Admin.Listen))
	}

	m := &c.MSRP
	checkAddr(&es, "msrp.listen", m.Listen, false)
	if sameListener(m.Listen, c.SIP.TCP) {
		es.addf("msrp.listen", fmt.Sprintf("%q is also sip.tcp; SIP and MSRP need their own TCP ports", m.Listen))
	}
	checkAddr(&es, "msrp.tls_listen", m.TLSListen, true)
	for _, other := range []struct{ key, addr string }{{"msrp.listen", m.Listen}, {"sip.tcp", c.SIP.TCP}, {"sip.tls", c.SIP.TLS}} {
		if sameListener(m.TLSListen, other.addr) {
			es.addf("msrp.tls_listen", fmt.Sprintf("%q is also %s; every listener needs its own TCP port", m.TLSListen, other.key))
		}
	}
	if sameListener(m.Listen, c.SIP.TLS) {
		es.addf("msrp.listen", fmt.Sprintf("%q is also sip.tls; SIP and MSRP need their own TCP ports", m.Listen))
	}
	checkAddr(&es, "https.listen", c.HTTPS.Listen, true)
	for _, other := range []struct{ key, addr string }{{"sip.tcp", c.SIP.TCP}, {"sip.tls", c.SIP.TLS}, {"msrp.listen", m.Listen}, {"msrp.tls_listen", m.TLSListen}} {
		if sameListener(c.HTTPS.Listen, other.addr) {
			es.addf("https.listen", fmt.Sprintf("%q is also %s; every listener needs its own TCP port", c.HTTPS.Listen, other.key))
		}
	}
	atLeast(&es, "https.max_pending_per_source", c.HTTPS.MaxPendingPerSource, 1)
	for i, o := range c.HTTPS.Origins {
		if _, err := ParseOrigin(o); err != nil {
			es.add(fmt.Sprintf("https.origins[%d]", i), err)
		}
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		es.addf("tls", "set both tls.cert and tls.key, or neither (a self-signed certificate)")
	}
	if c.UsesTLS() && c.TLS.Cert == "" && c.Server.DataDir == "" {
		es.addf("server.data_dir", "must be set: TLS is on and [tls] names no certificate, so a self-signed one is kept there")
	}
	positive(&es, "msrp.bind_timeout", m.BindTimeout)
	checkSize(&es, "msrp.max_chunk", m.MaxChunk)
	checkSize(&es, "msrp.max_message", m.MaxMessage)
	checkSize(&es, "msrp.max_header_bytes", m.MaxHeaderBytes)
	checkSize(&es, "msrp.max_pending", m.MaxPending)
	if m.MaxChunk > 0 && m.MaxMessage > 0 && m.MaxMessage < m.MaxChunk {
		es.addf("msrp.max_message", fmt.Sprintf("%v is less than msrp.max_chunk (%v)", m.MaxMessage, m.MaxChunk))
	}
	if m.MaxChunk > 0 && m.MaxPending > 0 && m.MaxPending < m.MaxChunk {
		es.addf("msrp.max_pending", fmt.Sprintf("%v is less than msrp.max_chunk (%v): one chunk would close the connection", m.MaxPending, m.MaxChunk))
	}
	positive(&es, "msrp.write_timeout", m.WriteTimeout)
	if m.CoalesceDelay < 0 || m.CoalesceDelay > Duration(10*time.Millisecond) {
		es.addf("msrp.coalesce_delay", fmt.Sprintf("must be between 0 and 10ms, found %v", m.CoalesceDelay))
	}
	positive(&es, "msrp.chunk_timeout", m.ChunkTimeout)
	positive(&es, "msrp.congestion_timeout", m.CongestionTimeout)
	positive(&es, "msrp.progress_timeout", m.ProgressTimeout)
	atLeast(&es, "msrp.max_unfinished", m.MaxUnfinished, 1)
	checkSize(&es, "msrp.max_unfinished_bytes", m.MaxUnfinishedBytes)
	if m.MaxUnfinishedBytes > 0 && m.MaxMessage > 0 && m.MaxMessage <= maxSize && m.MaxUnfinishedBytes < m.MaxMessage {
		es.addf("msrp.max_unfinished_bytes", fmt.Sprintf("%v is less than msrp.max_message (%v): a message of allowed size would be refused partway", m.MaxUnfinishedBytes, m.MaxMessage))
	}
	atLeast(&es, "msrp.max_sessions_per_conn", m.MaxSessionsPerConn, 1)
	atLeast(&es, "msrp.max_unbound_per_source", m.MaxUnboundPerSource, 1)

	oneOf(&es, "store.mode", c.Store.Mode, StoreFile, StoreMemory)
	if u := c.Store.URL; u != "" && !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") {
		es.addf("store.url", fmt.Sprintf(`%q is not a NATS URL ("nats://host:port" or "tls://host:port", several separated by commas)`, u))
	}

	oneOf(&es, "rooms.mode", c.Rooms.Mode, ModeAdhoc, ModeConfigured)
	if c.Rooms.Mode == ModeConfigured && len(c.Room) == 0 {
		es.addf("rooms.mode", `"configured" needs at least one [[room]]`)
	}
	if c.Rooms.MaxRooms < 1 {
		es.addf("rooms.max_rooms", fmt.Sprintf("must be at least 1, found %d", c.Rooms.MaxRooms))
	} else if len(c.Room) > c.Rooms.MaxRooms {
		es.addf("rooms.max_rooms", fmt.Sprintf("%d rooms are configured, more than max_rooms (%d)", len(c.Room), c.Rooms.MaxRooms))
	}
	if c.Rooms.MaxNameBytes < 1 || c.Rooms.MaxNameBytes > maxRoomName {
		es.addf("rooms.max_name_bytes", fmt.Sprintf("must be between 1 and %d, found %d", maxRoomName, c.Rooms.MaxNameBytes))
	}
	checkPolicy(&es, "rooms", c.Rooms.Policy)

	seen := make(map[string]int, len(c.Room))
	for i := range c.Room {
		r := &c.Room[i]
		p := fmt.Sprintf("room[%d]", i)
		if err := checkRoomName(r.Name); err != nil {
			es.add(p+".name", err)
		} else if c.Rooms.MaxNameBytes > 0 && len(r.Name) > c.Rooms.MaxNameBytes {
			es.addf(p+".name", fmt.Sprintf("%d bytes, more than rooms.max_name_bytes (%d)", len(r.Name), c.Rooms.MaxNameBytes))
		} else if j, dup := seen[c.RoomKey(r.Name)]; dup {
			es.addf(p+".name", fmt.Sprintf("room %q is already configured by room[%d] (%q)", r.Name, j, c.Room[j].Name))
		} else {
			seen[c.RoomKey(r.Name)] = i
		}
		if err := checkText(r.Subject); err != nil {
			es.add(p+".subject", err)
		}
		// The default policy is valid and checkPolicy checks each key on
		// its own, so every error here is in a key the room overrides.
		checkPolicy(&es, p, r.Apply(Default().Rooms.Policy))
	}

	l := &c.Limits
	atLeast(&es, "limits.rooms_per_source", l.RoomsPerSource, 1)
	atLeast(&es, "limits.rooms_per_identity", l.RoomsPerIdentity, 1)
	atLeast(&es, "limits.dialogs_per_source", l.DialogsPerSource, 1)
	atLeast(&es, "limits.dialogs_per_identity", l.DialogsPerIdentity, 1)
	atLeast(&es, "limits.subscriptions_per_source", l.SubscriptionsPerSource, 1)
	atLeast(&es, "limits.subscriptions_per_identity", l.SubscriptionsPerIdentity, 1)
	atLeast(&es, "limits.subscriptions_per_room", l.SubscriptionsPerRoom, 1)
	atLeast(&es, "limits.msrp_connections_per_source", l.MSRPConnectionsPerSource, 1)
	for i, e := range l.Exempt {
		if _, err := ParsePrefix(e); err != nil {
			es.add(fmt.Sprintf("limits.exempt[%d]", i), err)
		}
	}
	checkRate(&es, "limits.joins", l.JoinsPerSecond, l.JoinsBurst)
	checkRate(&es, "limits.subscriptions", l.SubscriptionsPerSecond, l.SubscriptionsBurst)
	checkRate(&es, "limits.messages", l.MessagesPerSecond, l.MessagesBurst)
	for i, e := range l.RateExempt {
		if _, err := ParsePrefix(e); err != nil {
			es.add(fmt.Sprintf("limits.rate_exempt[%d]", i), err)
		}
	}

	for i, e := range c.SIP.TrustedProxies {
		if _, err := ParsePrefix(e); err != nil && !certName(e) {
			es.addf(fmt.Sprintf("sip.trusted_proxies[%d]", i), fmt.Sprintf("%q is neither an address, a CIDR prefix nor a certificate's DNS name", e))
		}
	}
	if len(c.SIP.DigestAlgorithms) == 0 {
		es.addf("sip.digest_algorithms", "must name at least one of \"SHA-256\" and \"MD5\"")
	}
	for i, a := range c.SIP.DigestAlgorithms {
		if a != "SHA-256" && a != "MD5" {
			es.addf(fmt.Sprintf("sip.digest_algorithms[%d]", i), fmt.Sprintf("must be \"SHA-256\" or \"MD5\", found %q", a))
		} else if slices.Index(c.SIP.DigestAlgorithms, a) != i {
			es.addf(fmt.Sprintf("sip.digest_algorithms[%d]", i), fmt.Sprintf("%q is listed twice", a))
		}
	}
	oneOf(&es, "log.level", c.Log.Level, LevelDebug, LevelInfo, LevelWarn, LevelError)
	oneOf(&es, "log.format", c.Log.Format, FormatText, FormatJSON)
	return es
}

// checkPolicy checks each key of a room policy on its own.
func checkPolicy(es *Errors, prefix string, p Policy) {
	key := func(k string) string { return prefix + "." + k }
	oneOf(es, key("delete_when"), p.DeleteWhen, DeleteLastLeaves, DeleteCreatorLeaves, DeleteNever)
	if p.MaxParticipants < 1 {
		es.addf(key("max_participants"), fmt.Sprintf("must be at least 1, found %d", p.MaxParticipants))
	}
	oneOf(es, key("nickname_scope"), p.NicknameScope, ScopeRoom, ScopeFocus)
	oneOf(es, key("guests"), p.Guests, GuestsAllow, GuestsDeny)
	oneOf(es, key("watchers"), p.Watchers, WatchersAnyone, WatchersParticipants)
	oneOf(es, key("guest_uris"), p.GuestURIs, GuestURIsAny, GuestURIsForeign)
	if p.MaxNicknameBytes < 1 || p.MaxNicknameBytes > MaxNicknameBytes {
		es.addf(key("max_nickname_bytes"), fmt.Sprintf("must be between 1 and %d (RFC 7701 §7.1), found %d", MaxNicknameBytes, p.MaxNicknameBytes))
	}
	for i, n := range p.ReservedNicknames {
		k := fmt.Sprintf("%s[%d]", key("reserved_nicknames"), i)
		switch {
		case n == "":
			es.addf(k, "empty nickname")
		case len(n) > MaxNicknameBytes:
			es.addf(k, fmt.Sprintf("longer than %d bytes", MaxNicknameBytes))
		default:
			if err := checkText(n); err != nil {
				es.add(k, err)
			}
		}
	}
	if p.History < 0 || p.History > MaxHistory {
		es.addf(key("history"), fmt.Sprintf("must be between 0 and %d, found %d", MaxHistory, p.History))
	}
	positive(es, key("history_max_age"), p.HistoryMaxAge)
	if p.EmptyGrace < 0 {
		es.addf(key("empty_grace"), fmt.Sprintf("must not be negative, found %v", p.EmptyGrace))
	}
	if p.NicknameQuarantine < 0 {
		es.addf(key("nickname_quarantine"), fmt.Sprintf("must not be negative, found %v", p.NicknameQuarantine))
	}
	for i, t := range p.AcceptWrappedTypes {
		if !isMediaRange(t) {
			es.addf(fmt.Sprintf("%s[%d]", key("accept_wrapped_types"), i),
				fmt.Sprintf(`%q is not a media type: want "type/subtype", "type/*" or "*"`, t))
		}
	}
}

func oneOf[T ~string](es *Errors, key string, v T, allowed ...T) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = strconv.Quote(string(a))
	}
	es.addf(key, fmt.Sprintf("must be one of %s; found %q", strings.Join(quoted, ", "), v))
}

// maxRate bounds a rate per second and its burst.
const maxRate = 1_000_000

// checkRate checks <prefix>_per_second (0: off) and, when the rate is on,
// <prefix>_burst.
func checkRate(es *Errors, prefix string, perSecond, burst int) {
	if perSecond < 0 || perSecond > maxRate {
		es.addf(prefix+"_per_second", fmt.Sprintf("must be between 0 (no limit) and %d, found %d", maxRate, perSecond))
	}
	if perSecond > 0 && (burst < 1 || burst > maxRate) {
		es.addf(prefix+"_burst", fmt.Sprintf("must be between 1 and %d, found %d", maxRate, burst))
	}
}

func atLeast(es *Errors, key string, v, least int) {
	if v < least {
		es.addf(key, fmt.Sprintf("must be at least %d, found %d", least, v))
	}
}

// ParsePrefix parses one limits.exempt entry: a CIDR prefix ("10.0.0.0/8")
// or a single address ("192.0.2.7", "::1"), which is a full-length prefix.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR prefix or an IP address", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR prefix or an IP address", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParseOrigin parses one https.origins entry, a Web Origin (RFC 6454 §6.2):
// "http" or "https", "://", a host and an optional port, nothing else. It
// returns the origin in the form a browser sends it: scheme and host in
// lower case, no trailing slash.
func ParseOrigin(s string) (string, error) {
	bad := fmt.Errorf("%q is not an origin: want scheme://host[:port], such as \"https://chat.example.com\"", s)
	u, err := url.Parse(strings.TrimSuffix(s, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", bad
	}
	host := u.Hostname()
	if err := checkHost(host, false); err != nil {
		return "", bad
	}
	if p := u.Port(); p != "" {
		if _, err := strconv.ParseUint(p, 10, 16); err != nil {
			return "", bad
		}
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

func positive(es *Errors, key string, d Duration) {
	if d <= 0 {
		es.addf(key, fmt.Sprintf("must be positive, found %v", d))
	}
}

func checkSize(es *Errors, key string, s ByteSize) {
	if s < 1 || s > maxSize {
		es.addf(key, fmt.Sprintf("must be between 1 and %v bytes, found %d", maxSize, int64(s)))
	}
}

// checkAddr checks a listen address: host:port with a numeric port (0: any
// free port) and a host that is empty (every interface), an IP address or
// a host name. "" is accepted when optional (the listener is disabled).
func checkAddr(es *Errors, key, addr string, optional bool) {
	if addr == "" {
		if !optional {
			es.addf(key, "must be set")
		}
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		es.addf(key, fmt.Sprintf("invalid address %q: want host:port, such as \"127.0.0.1:5060\" or \":0\"", addr))
		return
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		es.addf(key, fmt.Sprintf("invalid port %q in %q: want 0 to 65535 (0: any free port)", port, addr))
	}
	if host != "" {
		if err := checkHost(host, true); err != nil {
			es.add(key, err)
		}
	}
}

// sameListener reports whether two TCP listen addresses certainly collide:
// the same host and the same fixed port.
func sameListener(a, b string) bool {
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	return err1 == nil && err2 == nil && pa == pb && pa != "0" && (ha == hb || isWildcard(ha) || isWildcard(hb))
}

func isWildcard(host string) bool { return host == "" || host == "0.0.0.0" || host == "::" }

// checkHost accepts an IP address (IPv6 with or without brackets) or a
// host name as RFC 3261 §25.1 defines it: dot-separated labels of letters,
// digits and inner hyphens, the last one starting with a letter. Only a
// listen address may be 0.0.0.0 or ::; clients cannot reach those.
func checkHost(h string, listen bool) error {
	if h == "" {
		return fmt.Errorf("must be set")
	}
	if ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); err == nil {
		if ip.IsUnspecified() && !listen {
			return fmt.Errorf("%q is not an address clients can reach", h)
		}
		return nil
	}
	bad := fmt.Errorf("%q is neither an IP address nor a host name", h)
	if len(h) > 253 {
		return bad
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return bad
		}
		for i := 0; i < len(l); i++ {
			if !isAlnum(l[i]) && l[i] != '-' {
				return bad
			}
		}
	}
	if top := labels[len(labels)-1]; !isAlpha(top[0]) {
		return bad
	}
	return nil
}

// checkRoomName accepts a SIP URI user part (RFC 3261 §25.1):
// 1*( unreserved / escaped / user-unreserved ).
func checkRoomName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("must be set")
	case len(name) > maxRoomName:
		return fmt.Errorf("longer than %d bytes", maxRoomName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case isAlnum(c), strings.IndexByte("-_.!~*'()&=+$,;?/", c) >= 0:
		case c == '%' && i+2 < len(name) && isHex(name[i+1]) && isHex(name[i+2]):
			i += 2
		default:
			return fmt.Errorf("%q is not a valid SIP user part: letters, digits, -_.!~*'()&=+$,;?/ and %%XX escapes only", name)
		}
	}
	return nil
}

// checkText accepts valid UTF-8 without control characters.
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%q is not valid UTF-8", s)
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return fmt.Errorf("%q contains a control character", s)
	}
	return nil
}

// isMediaRange accepts "*", "type/*" and "type/subtype" with RFC 2045
// tokens, as a=accept-wrapped-types does (RFC 4975 §8.6).
func isMediaRange(s string) bool {
	if s == "*" {
		return true
	}
	typ, sub, ok := strings.Cut(s, "/")
	return ok && isToken(typ) && (sub == "*" || isToken(sub))
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isAlnum(c byte) bool { return isAlpha(c) || '0' <= c && c <= '9' }
func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// certName reports whether s can be a DNS name in a certificate: labels of
// letters, digits and hyphens, at least one letter (so that no address is
// taken for a name).
func certName(s string) bool {
	if s == "" || len(s) > 253 || !strings.ContainsFunc(s, unicode.IsLetter) {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-')) {
				return false
			}
		}
	}
	return true
}
