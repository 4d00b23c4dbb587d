// Package confinfo reads and writes the two XML documents a chat-room focus
// and its participants exchange besides MSRP:
//
//   - RFC 4575 conference-info documents (application/conference-info+xml),
//     the body of every NOTIFY of the "conference" event package, with the
//     xcon:nickname attribute that RFC 7701 §7.4 and §9.6 put on <user>;
//   - draft-niemi-simple-chat-00 nickname-info documents
//     (application/nickname-info+xml), the historical XML offer/answer for
//     reserving a nickname (an optional extension; RFC 7701 uses the MSRP
//     NICKNAME method instead).
//
// Parse and ParseNicknameInfo read a document into plain structs;
// Marshal writes it back. What the package does not know survives the round
// trip: unknown attributes and child elements, in any namespace, are kept in
// an Extensions value on every structured element and written again after
// the known children. A parse → Marshal → parse round trip yields a
// reflect.DeepEqual value; that property is fuzzed.
//
// Marshal writes the namespaces exactly as the RFC 7701 §9.6 example does:
// the root declares xmlns="urn:ietf:params:xml:ns:conference-info" and
// xmlns:xcon="urn:ietf:params:xml:ns:xcon-conference-info", known elements
// are unprefixed, and a nickname is written xcon:nickname="...". Extension
// elements get a default-namespace declaration where their namespace differs
// from their parent's; extension attributes get a prefix already in scope or
// a new one (ns1, ns2, ...). Known elements are indented by two spaces;
// extension elements are written without added white space so that their
// content is preserved.
//
// What the round trip does not preserve, by design: the input's namespace
// prefixes, comments, processing instructions, white space between known
// elements, the order of extension elements relative to known ones, empty
// optional elements, attributes on text-only elements (for example xml:lang
// on <display-text>), unknown children of <roles>, and the lexical form of
// numbers and booleans (leading zeros, "1" for true).
//
// Parse is strict where a value changes meaning (root element and
// namespace, state attributes, numbers, booleans, <media> without id,
// elements inside text-only elements, more than one root, a DOCTYPE, and two
// Namespaces in XML 1.0 rules encoding/xml skips: no xmlns:p="", and the
// local part of a prefixed name must be a name, unlike in p:0) and lenient
// elsewhere: enumerated element values such as <status> are kept as
// received and checked by Validate, which also applies the RFC 4575 rules a
// sender must follow. Input is capped at MaxDocumentSize bytes and a nesting
// depth of MaxDepth elements.
//
// ConferenceInfo.Apply implements the subscriber side of RFC 4575 §4.6:
// full and deleted documents replace the local copy, partial ones are merged
// by user@entity, endpoint@entity and media@id.
//
// The package is pure: standard library only, no goroutines, no logging and
// no package-level mutable state.
package confinfo
