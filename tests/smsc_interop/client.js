'use strict';
// Third-party interop client for the sandbox SMSC (internal/smsc, TestInteropNodeSMPP).
// With the npm package "smpp" it binds as transceiver, submits a GSM-7 message and a
// 3-part GSM-7 message (UDH IEI 0x08, 16-bit ref 0x1234), both with registered_delivery,
// answers every deliver_sm, and waits for a receipt per submit_sm plus one MO.
// It prints JSON lines: {"event":"bound"}, then {"event":"done",...} or {"event":"failed",...}.
// Usage: node client.js '{"host":…,"port":…,"system_id":…,"password":…,"source":…,
//   "dest":…,"short":…,"long":…,"timeout_ms":…}'
const smpp = require('smpp');

const cfg = JSON.parse(process.argv[2]);
const out = { submits: [], receipts: [], mo: [] };
let finished = false;
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const fail = (why) => {
  if (finished) return;
  finished = true;
  emit({ event: 'failed', why, ...out });
  process.exit(1);
};
setTimeout(() => fail('timed out'), cfg.timeout_ms).unref();

const session = smpp.connect({ host: cfg.host, port: cfg.port });
session.on('error', (e) => fail(String(e)));

session.on('deliver_sm', (pdu) => {
  session.send(pdu.response());
  const text = pdu.short_message && pdu.short_message.message;
  if (pdu.esm_class & 0x04) {
    out.receipts.push({
      receipted_message_id: pdu.receipted_message_id,
      message_state: pdu.message_state,
      text,
    });
  } else {
    out.mo.push({ source: pdu.source_addr, dest: pdu.destination_addr, data_coding: pdu.data_coding, text });
  }
  finish();
});

const submit = (opts) =>
  new Promise((resolve) =>
    session.submit_sm(opts, (r) => resolve({ status: r.command_status, message_id: r.message_id })));

session.bind_transceiver({ system_id: cfg.system_id, password: cfg.password }, async (pdu) => {
  if (pdu.command_status !== 0) return fail(`bind_transceiver answered with status ${pdu.command_status}`);
  emit({ event: 'bound' });
  const base = { source_addr: cfg.source, destination_addr: cfg.dest, registered_delivery: 1, data_coding: 0 };
  const parts = [];
  for (let i = 0; i < cfg.long.length; i += 152) parts.push(cfg.long.slice(i, i + 152));
  // All in flight at once: the SMSC must not serialise a session.
  const results = await Promise.all([
    submit({ ...base, short_message: cfg.short }),
    ...parts.map((p, i) =>
      submit({ ...base, short_message: { udh: Buffer.from([6, 8, 4, 0x12, 0x34, parts.length, i + 1]), message: p } })),
  ]);
  out.submits.push(...results);
  finish();
});

function finish() {
  if (finished || out.submits.length === 0 || out.receipts.length < out.submits.length || out.mo.length < 1) return;
  finished = true;
  emit({ event: 'done', ...out });
  session.unbind(() => session.close());
}
