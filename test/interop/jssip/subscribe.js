// JsSIP, a third-party SIP stack, as a WebSocket client of parleyd (RFC
// 7118): it registers nothing, sends OPTIONS to the room and to the server,
// subscribes to the room's conference events (RFC 4575), waits for a NOTIFY
// with a conference-info document, unsubscribes and stops.
//
//   node subscribe.js WSS-URL ROOM-URI CA-FILE
//   node subscribe.js wss://127.0.0.1:8443/ sip:lobby@127.0.0.1 parley-data/parley-selfsigned.crt
//
// The arguments may come from PARLEY_WSS_URL, PARLEY_ROOM and PARLEY_CA
// instead. The server's certificate is verified against CA-FILE (never
// skipped). PARLEY_JSSIP_TRACE=1 prints every WebSocket message sent and
// received, and JsSIP's warnings, on stderr.
//
// stdout gets one line per result, read by test/interop/jssip_test.go:
//
//   connected url=wss://127.0.0.1:8443/ protocol=sip
//   options target=sip:lobby@127.0.0.1 request-uri=sip:lobby@127.0.0.1 status=200 reason="OK"
//   options target=sip:127.0.0.1 request-uri=sip:127.0.0.1 status=200 reason="OK"
//   subscribe status=200 reason="OK" expires=600
//   subscribe accepted
//   notify final=false content-type="application/conference-info+xml" entity="sip:lobby@127.0.0.1" state="full" version="1" subscription-state="active;expires=600"
//   notify final=true content-type=... subscription-state="terminated;reason=timeout"
//   unsubscribed code=FINAL_NOTIFY_RECEIVED reason="timeout"
//   done
//
// Any failure, or no result within PARLEY_JSSIP_TIMEOUT_MS (default
// 15,000), ends with "error: ..." on stderr and exit status 1.
'use strict';

const fs = require('fs');
const WS = require('ws');
const JsSIP = require('jssip');

const trace = /^(1|true|yes)$/i.test(process.env.PARLEY_JSSIP_TRACE || '');
const timeoutMs = Number(process.env.PARLEY_JSSIP_TIMEOUT_MS || 15000);

function fail(msg) {
  process.stderr.write(`error: ${msg}\n`);
  process.exit(1);
}

function out(line) {
  process.stdout.write(`${line}\n`);
}

function q(s) {
  return JSON.stringify(s === undefined || s === null ? '' : String(s));
}

const [urlArg, roomArg, caArg] = process.argv.slice(2);
const url = urlArg || process.env.PARLEY_WSS_URL;
const room = roomArg || process.env.PARLEY_ROOM;
const caFile = caArg || process.env.PARLEY_CA;
if (!url || !room || !caFile) {
  fail('usage: node subscribe.js WSS-URL ROOM-URI CA-FILE (or PARLEY_WSS_URL, PARLEY_ROOM, PARLEY_CA)');
}
if (!/^wss:\/\//i.test(url)) {
  fail(`${url}: a wss:// URL is expected`);
}
const roomMatch = /^sips?:([^@;>]+)@([^;>?]+)$/i.exec(room);
if (!roomMatch) {
  fail(`${room}: a room URI sip:NAME@HOST is expected`);
}
const serverURI = `sip:${roomMatch[2]}`;
// Targets go to JsSIP as URI objects: given a string, ua.normalizeTarget
// takes one without '@' (sip:127.0.0.1) for a user of the UA's own domain,
// sip:127001@parley.invalid.
const roomTarget = JsSIP.URI.parse(room);
const serverTarget = JsSIP.URI.parse(serverURI);
if (!roomTarget || !serverTarget) {
  fail(`${room}: JsSIP cannot parse it`);
}

let ca;
try {
  ca = fs.readFileSync(caFile);
} catch (e) {
  fail(`reading the CA file: ${e.message}`);
}

let step = 'connecting';
setTimeout(() => fail(`timed out after ${timeoutMs} ms (last step: ${step})`), timeoutMs);

if (trace) {
  JsSIP.debug.enable('JsSIP:WARN:*,JsSIP:ERROR:*,-JsSIP:WARN:WebSocketInterface');
} else {
  JsSIP.debug.disable();
}

// JsSIP's WebSocketInterface opens `new WebSocket(url, 'sip')`, a browser's
// WebSocket. Node 20 has none: this is ws's, which offers the same
// onopen/onmessage/onclose/onerror interface, verifying the server against
// the given CA (rejectUnauthorized stays ws's default, true).
let socket = null;
let lastSocketError = null;
class VerifyingWebSocket extends WS {
  constructor(address, protocols) {
    super(address, protocols, { ca, handshakeTimeout: 5000 });
    socket = this;
    this.on('error', (e) => {
      lastSocketError = e;
    });
    if (trace) {
      this.on('message', (data) => {
        process.stderr.write(`<<< received (${data.length} octets)\n${data}\n<<< end\n`);
      });
    }
  }

  send(data, ...rest) {
    if (trace) {
      process.stderr.write(`>>> sent (${Buffer.byteLength(data)} octets)\n${data}\n>>> end\n`);
    }
    return super.send(data, ...rest);
  }
}
global.WebSocket = VerifyingWebSocket;

const ua = new JsSIP.UA({
  sockets: [new JsSIP.WebSocketInterface(url)],
  uri: 'sip:jssip-interop@parley.invalid',
  display_name: 'JsSIP interop',
  register: false,
  user_agent: `JsSIP ${JsSIP.version} (parley interop)`,
  connection_recovery_min_interval: 1,
  connection_recovery_max_interval: 1,
});

let connected = false;
ua.on('connected', () => {
  connected = true;
  out(`connected url=${url} protocol=${(socket && socket.protocol) || ''}`);
  run().catch((e) => fail(e.message));
});
ua.on('disconnected', (e) => {
  if (step === 'stopping') {
    return;
  }
  const why = lastSocketError ? lastSocketError.message : `code ${e && e.code} ${(e && e.reason) || ''}`.trim();
  fail(`${connected ? 'WebSocket closed' : 'WebSocket connection failed'} during ${step}: ${why}`);
});

// sendOptions resolves with the final response and the Request-URI sent.
function sendOptions(target) {
  return new Promise((resolve, reject) => {
    let ruri = '';
    const seen = (e) => {
      if (e.originator === 'local') {
        ruri = String(e.request.ruri);
      }
    };
    ua.once('newOptions', seen);
    ua.sendOptions(target, null, {
      eventHandlers: {
        succeeded: ({ response }) => resolve({ res: response, ruri }),
        failed: ({ response, cause }) => {
          if (response) {
            resolve({ res: response, ruri });
          } else {
            reject(new Error(`OPTIONS ${target} failed: ${cause}`));
          }
        },
      },
    });
  });
}

function attr(tag, name) {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(tag);
  return m ? (m[1] !== undefined ? m[1] : m[2]) : '';
}

async function run() {
  for (const [target, uri] of [[room, roomTarget], [serverURI, serverTarget]]) {
    step = `OPTIONS ${target}`;
    const { res, ruri } = await sendOptions(uri);
    out(`options target=${target} request-uri=${ruri} status=${res.status_code} reason=${q(res.reason_phrase)}`);
    if (res.status_code !== 200) {
      throw new Error(`OPTIONS ${target} answered ${res.status_code} ${res.reason_phrase}`);
    }
  }

  step = `SUBSCRIBE ${room}`;
  const sub = ua.subscribe(roomTarget, 'conference', 'application/conference-info+xml', { expires: 600 });
  const codeName = (code) => Object.keys(sub.C).find((k) => sub.C[k] === code && !k.startsWith('STATE_')) || String(code);
  // The status of the SUBSCRIBE's final response: JsSIP reports only
  // "accepted" (2xx) or "terminated", so its response handler is watched.
  let subscribeStatus = null;
  if (typeof sub._receiveSubscribeResponse === 'function') {
    const orig = sub._receiveSubscribeResponse.bind(sub);
    sub._receiveSubscribeResponse = (res) => {
      if (subscribeStatus === null) {
        subscribeStatus = res.status_code;
        out(`subscribe status=${res.status_code} reason=${q(res.reason_phrase)} expires=${res.getHeader('expires') || ''}`);
      }
      orig(res);
    };
  }

  const notified = new Promise((resolve, reject) => {
    sub.on('accepted', () => out('subscribe accepted'));
    sub.on('notify', (isFinal, request, body, contentType) => {
      const tag = (/<conference-info\b[^>]*>/.exec(body || '') || [''])[0];
      out(`notify final=${isFinal} content-type=${q(contentType)} entity=${q(attr(tag, 'entity'))} state=${q(attr(tag, 'state'))} version=${q(attr(tag, 'version'))} subscription-state=${q(request.getHeader('subscription-state'))}`);
      if (!isFinal) {
        resolve({ contentType, entity: attr(tag, 'entity') });
      }
    });
    sub.on('terminated', (code, reason) => {
      reject(new Error(`subscription ended before a NOTIFY: ${codeName(code)}${subscribeStatus ? ` (SUBSCRIBE answered ${subscribeStatus})` : ''}${reason ? ` reason ${reason}` : ''}`));
    });
  });
  sub.subscribe();
  const got = await notified;
  if (!/^application\/conference-info\+xml\b/i.test(got.contentType || '')) {
    throw new Error(`NOTIFY Content-Type ${got.contentType}, want application/conference-info+xml`);
  }
  if (!got.entity) {
    throw new Error('NOTIFY body has no <conference-info entity="...">');
  }

  step = 'unsubscribe';
  const ended = new Promise((resolve) => {
    sub.removeAllListeners('terminated');
    sub.on('terminated', (code, reason) => resolve({ code, reason }));
  });
  sub.terminate();
  const end = await ended;
  out(`unsubscribed code=${codeName(end.code)} reason=${q(end.reason)}`);

  step = 'stopping';
  const closed = new Promise((resolve) => {
    if (!socket || socket.readyState === WS.CLOSED) {
      resolve();
      return;
    }
    socket.once('close', resolve);
    setTimeout(resolve, 3000).unref();
  });
  ua.stop();
  await closed;
  out('done');
  process.exit(0);
}

ua.start();
