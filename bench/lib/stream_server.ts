// A minimal RTSP server that streams synthetic H.264 as fast as the client takes it, run in a process of its own so
// that the client's process sees only its own allocations (bench/alloc_perf.ts). One H.264 track: every RTP packet a
// single NAL unit with the marker bit set (one access unit per packet; an IDR every 30), 1000 octets of payload.
// TCP: interleaved, written in chunks of CHUNK_PACKETS with back-pressure. UDP: datagrams to the client's port in
// bursts of UDP_BURST, one burst per setImmediate (loopback, a large receive buffer: nothing is lost).
//
//   tsx bench/lib/stream_server.ts      prints the port on stdout, then serves until stdin closes

import dgram from 'node:dgram';
import net from 'node:net';
import { h264Sdp } from '../../test/node/rtsp/scripted-server.js';

const PAYLOAD_BYTES = 1000;
const CHUNK_PACKETS = 256;
const UDP_BURST = 64;
const UDP_PACING_MS = Number(process.env.STREAM_UDP_PACING_MS ?? 1);
const PACKET_BYTES = 12 + PAYLOAD_BYTES;
const TIMESTAMP_START = 0x7FF0_0000;

/** Writes RTP packet `seq` (header + single NAL unit) at `at` in `buf`. */
function writePacket(buf: Buffer, at: number, seq: number): void {
  buf[at] = 0x80;
  buf[at + 1] = 0x80 | 96;
  buf.writeUInt16BE(seq & 0xffff, at + 2);
  // 1 ms of 90 kHz per packet from just below 2^31: past 2^31 within the warm-up, no wrap for 23 M packets.
  buf.writeUInt32BE((TIMESTAMP_START + seq * 90) >>> 0, at + 4);
  buf.writeUInt32BE(0x1234abcd, at + 8);
  buf[at + 12] = seq % 30 === 0 ? 0x65 : 0x41; // IDR / non-IDR slice
}

function reply(socket: net.Socket, cseq: string, headers: Record<string, string> = {}, body = ''): void {
  let text = `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\n`;
  for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
  if (body) text += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  socket.write(text + '\r\n' + body);
}

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let text = '';
  let udpPort = 0;
  let streaming = false;
  socket.on('error', () => {});
  socket.on('data', (d) => {
    if (streaming && d[0] === 0x24) return; // RTCP receiver reports
    text += d.toString('latin1');
    for (;;) {
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      let msg = text.slice(0, end);
      const length = /content-length:\s*(\d+)/i.exec(msg);
      const bodyLength = length ? Number(length[1]) : 0;
      if (text.length < end + 4 + bodyLength) return;
      text = text.slice(end + 4 + bodyLength);
      msg = msg.replace(/^\$[\s\S]*?(?=[A-Z_]+ )/, ''); // an interleaved RTCP frame glued in front
      const method = msg.split(' ')[0]!;
      const cseq = /cseq:\s*(\d+)/i.exec(msg)?.[1] ?? '0';
      if (method === 'DESCRIBE') {
        reply(socket, cseq, { 'Content-Type': 'application/sdp', 'Content-Base': 'rtsp://127.0.0.1/stream/' }, h264Sdp());
      } else if (method === 'SETUP') {
        const transport = /transport:\s*([^\r\n]*)/i.exec(msg)?.[1] ?? '';
        const ports = /client_port=(\d+)/.exec(transport);
        if (ports) udpPort = Number(ports[1]);
        reply(socket, cseq, {
          Session: 'ABCDEF;timeout=60',
          Transport: ports ? `RTP/AVP;unicast;client_port=${ports[1]}-${Number(ports[1]) + 1};server_port=50000-50001`
            : 'RTP/AVP/TCP;unicast;interleaved=0-1',
        });
      } else if (method === 'PLAY') {
        reply(socket, cseq, { Session: 'ABCDEF' });
        streaming = true;
        if (udpPort) streamUdp(socket, udpPort);
        else streamTcp(socket);
      } else {
        reply(socket, cseq, { Session: 'ABCDEF', Public: 'OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER' });
      }
    }
  });
});

function streamTcp(socket: net.Socket): void {
  let seq = 0;
  const frame = 4 + PACKET_BYTES;
  const write = (): void => {
    while (!socket.destroyed) {
      const buf = Buffer.allocUnsafe(CHUNK_PACKETS * frame);
      for (let i = 0; i < CHUNK_PACKETS; i++) {
        const at = i * frame;
        buf[at] = 0x24;
        buf[at + 1] = 0;
        buf.writeUInt16BE(PACKET_BYTES, at + 2);
        buf.fill(0x5a, at + 4 + 13, at + frame);
        writePacket(buf, at + 4, seq++);
      }
      if (!socket.write(buf)) {
        socket.once('drain', write);
        return;
      }
    }
  };
  write();
}

function streamUdp(control: net.Socket, port: number): void {
  const udp = dgram.createSocket('udp4');
  let seq = 0;
  const burst = (): void => {
    if (control.destroyed) {
      udp.close();
      return;
    }
    for (let i = 0; i < UDP_BURST; i++) {
      const buf = Buffer.alloc(PACKET_BYTES, 0x5a); // a buffer per datagram: a send may complete later
      writePacket(buf, 0, seq++);
      udp.send(buf, port, '127.0.0.1');
    }
    setTimeout(burst, UDP_PACING_MS);
  };
  burst();
}

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
