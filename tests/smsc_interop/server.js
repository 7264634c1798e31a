'use strict';
// Third-party interop SMSC for Catalyst's SMPP client (internal/smpp/client,
// TestInteropNodeSMSC), built with the npm package "smpp" (smpp.createServer).
//
// It accepts binds as system_id "catalyst", password "secret" (anything else gets
// ESME_RBINDFAIL), answers every submit_sm with an incrementing upper-case hex
// message_id and, when registered_delivery asks for one, sends a delivery receipt
// deliver_sm (esm_class 0x04, SMPP 3.4 Appendix B text plus the receipted_message_id
// and message_state TLVs) about 100ms later. Right after the first successful bind it
// sends one mobile-originated deliver_sm: UCS-2 "héllo ☺" from +447700900001 to 12345,
// then the parts of two concatenated ones (CONCAT_MO).
//
// Usage: node server.js [port] [--exit-on-eof]   (port 0 or none: a free port)
// stdout carries one JSON object per line:
//   {"event":"listening","port":N}
//   {"event":"bind","command":…,"system_id":…,"status":N}
//   {"event":"submit_sm","message_id":…,"data_coding":N,"esm_class":N,"registered_delivery":N,
//    "source_addr":…,"source_addr_ton":N,"destination_addr":…,"destination_addr_ton":N,
//    "short_message":"<hex, UDH included>","udh":["<hex>",…],"text":"<as decoded by npm smpp>"}
//   {"event":"deliver_sm_resp","kind":"receipt"|"mo","message_id":…,"status":N}
//   {"event":"unbind"}
const smpp = require('smpp');

const SYSTEM_ID = 'catalyst';
const PASSWORD = 'secret';
const RECEIPT_DELAY_MS = 100;
const MO = { source: '447700900001', dest: '12345', text: 'héllo ☺' };

const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');

// Keep the raw PDU next to the decoded one (non-enumerable, so the package's own
// field filters never see it): short_message is logged exactly as it came on the wire,
// not as npm smpp re-encodes its decoded text.
const fromBuffer = smpp.PDU.prototype.fromBuffer;
smpp.PDU.prototype.fromBuffer = function (buffer) {
  Object.defineProperty(this, 'raw', { value: buffer, enumerable: false });
  return fromBuffer.call(this, buffer);
};

// rawShortMessage walks a submit_sm body (SMPP 3.4 §4.4.1) to its short_message.
function rawShortMessage(buf) {
  let o = 16;
  const cstring = () => {
    while (o < buf.length && buf[o] !== 0) o++;
    o++;
  };
  cstring(); // service_type
  o += 2; // source_addr_ton, source_addr_npi
  cstring(); // source_addr
  o += 2; // dest_addr_ton, dest_addr_npi
  cstring(); // destination_addr
  o += 3; // esm_class, protocol_id, priority_flag
  cstring(); // schedule_delivery_time
  cstring(); // validity_period
  o += 4; // registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id
  const len = buf[o];
  return buf.subarray(o + 1, o + 1 + len);
}

const pad = (n) => String(n).padStart(2, '0');
const smppDate = (d) =>
  pad(d.getUTCFullYear() % 100) + pad(d.getUTCMonth() + 1) + pad(d.getUTCDate()) +
  pad(d.getUTCHours()) + pad(d.getUTCMinutes());

let nextID = 0xa0000000; // ids with hex letters, so a client must read them as hex
let firstBind = true;

const server = smpp.createServer((session) => {
  let bound = false;
  session.on('error', (e) => emit({ event: 'session_error', error: String(e) }));

  const onBind = (pdu) => {
    const ok = !bound && pdu.system_id === SYSTEM_ID && pdu.password === PASSWORD;
    const status = ok ? smpp.ESME_ROK : bound ? smpp.ESME_RALYBND : smpp.ESME_RBINDFAIL;
    emit({ event: 'bind', command: pdu.command, system_id: pdu.system_id, status });
    if (!ok) {
      session.send(pdu.response({ command_status: status }));
      if (!bound) session.close();
      return;
    }
    bound = true;
    session.send(pdu.response({ system_id: 'npm-smsc' }));
    if (firstBind && pdu.command !== 'bind_transmitter') {
      firstBind = false;
      sendMO(session);
    }
  };
  session.on('bind_transceiver', onBind);
  session.on('bind_transmitter', onBind);
  session.on('bind_receiver', onBind);

  session.on('enquire_link', (pdu) => session.send(pdu.response()));

  session.on('unbind', (pdu) => {
    emit({ event: 'unbind' });
    session.send(pdu.response());
    session.close();
  });

  session.on('submit_sm', (pdu) => {
    if (!bound) {
      session.send(pdu.response({ command_status: smpp.ESME_RINVBNDSTS }));
      return;
    }
    const id = (nextID++).toString(16).toUpperCase();
    const submitted = new Date();
    const sm = pdu.short_message || {};
    emit({
      event: 'submit_sm',
      message_id: id,
      data_coding: pdu.data_coding,
      esm_class: pdu.esm_class,
      registered_delivery: pdu.registered_delivery,
      source_addr: pdu.source_addr,
      source_addr_ton: pdu.source_addr_ton,
      destination_addr: pdu.destination_addr,
      destination_addr_ton: pdu.dest_addr_ton,
      short_message: rawShortMessage(pdu.raw).toString('hex'),
      udh: (sm.udh || []).map((u) => Buffer.from(u).toString('hex')),
      text: typeof sm.message === 'string' ? sm.message : Buffer.from(sm.message || []).toString('hex'),
    });
    session.send(pdu.response({ message_id: id }));
    if ((pdu.registered_delivery & 0x03) === 0) return;
    setTimeout(() => {
      const text = `id:${id} sub:001 dlvrd:001 submit date:${smppDate(submitted)} ` +
        `done date:${smppDate(new Date())} stat:DELIVRD err:000 text:`;
      session.deliver_sm({
        source_addr_ton: pdu.dest_addr_ton,
        source_addr_npi: pdu.dest_addr_npi,
        source_addr: pdu.destination_addr,
        dest_addr_ton: pdu.source_addr_ton,
        dest_addr_npi: pdu.source_addr_npi,
        destination_addr: pdu.source_addr,
        esm_class: smpp.ESM_CLASS.MC_DELIVERY_RECEIPT,
        data_coding: 0,
        short_message: text,
        receipted_message_id: id,
        message_state: smpp.MESSAGE_STATE.DELIVERED,
      }, (resp) => emit({ event: 'deliver_sm_resp', kind: 'receipt', message_id: id, status: resp.command_status }));
    }, RECEIPT_DELAY_MS);
  });
});

// CONCAT_MO are concatenated MOs sent after MO, parts out of order: one in GSM-7 with
// the sar_ TLVs (reference 0x1234, 3 parts), one in UCS-2 with a 16-bit-reference UDH
// (IEI 0x08, reference 0xABCD, 2 parts).
const CONCAT_MO = [
  { sar: [0x1234, 3, 2], data_coding: 0, text: 'part two, ' },
  { udh16: [0xabcd, 2, 2], data_coding: 8, text: ', мир 😀' },
  { sar: [0x1234, 3, 3], data_coding: 0, text: 'part three.' },
  { sar: [0x1234, 3, 1], data_coding: 0, text: 'Part one, ' },
  { udh16: [0xabcd, 2, 1], data_coding: 8, text: 'Привет' },
];

function sendMO(session) {
  const base = {
    source_addr_ton: 1,
    source_addr_npi: 1,
    source_addr: MO.source,
    dest_addr_ton: 3,
    dest_addr_npi: 0,
    destination_addr: MO.dest,
    esm_class: 0,
  };
  session.deliver_sm({ ...base, data_coding: smpp.ENCODING.UCS2, short_message: MO.text },
    (resp) => emit({ event: 'deliver_sm_resp', kind: 'mo', status: resp.command_status }));
  for (const part of CONCAT_MO) {
    const pdu = { ...base, data_coding: part.data_coding };
    if (part.sar) {
      [pdu.sar_msg_ref_num, pdu.sar_total_segments, pdu.sar_segment_seqnum] = part.sar;
      pdu.short_message = part.text;
    } else {
      const [ref, total, seq] = part.udh16;
      pdu.short_message = { udh: Buffer.from([0x06, 0x08, 0x04, ref >> 8, ref & 0xff, total, seq]), message: part.text };
    }
    session.deliver_sm(pdu, (resp) => emit({ event: 'deliver_sm_resp', kind: 'mo', status: resp.command_status }));
  }
}

server.on('error', (e) => {
  emit({ event: 'server_error', error: String(e) });
  process.exit(1);
});
server.listen(Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) || 0), '127.0.0.1', () => {
  emit({ event: 'listening', port: server.address().port });
});
// With --exit-on-eof, stdin closing (the parent test process ending) stops the SMSC.
if (process.argv.includes('--exit-on-eof')) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
