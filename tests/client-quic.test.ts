/** connectQuic: raw QUIC datagrams against Deno's QUIC server and this library's server. */
import { describe, expect, test } from "bun:test";
import { connectQuic, type QuicConn } from "../bun";
import { serve, withTimeout } from "./helpers";
import { hashes } from "./client-helpers";
import { DENO_QUIC_ALPN, DENO_QUIC_SERVER, startDeno } from "./deno";

const enc = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Sends msg until its echo arrives (datagrams may be lost; bounded). */
async function echo(conn: QuicConn, msg: string): Promise<string | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    await conn.sendDatagram(enc(msg));
    const d = await withTimeout(conn.readDatagram(), 2000, "datagram echo").catch(() => undefined);
    if (d !== undefined) return text(d);
  }
  return undefined;
}

describe("connectQuic", () => {
  test("datagram echo against Deno's raw QUIC server (CA-verified)", async () => {
    await using deno = await startDeno(DENO_QUIC_SERVER);
    const conn = await connectQuic({ hostname: "127.0.0.1", port: deno.port, alpnProtocols: [DENO_QUIC_ALPN], caCerts: [deno.certPem] });
    expect(conn.maxDatagramSize).toBeGreaterThan(1000);
    for (let i = 0; i < 10; i++) expect(await echo(conn, `quic ${i}`)).toBe(`quic ${i}`);
    await expect(conn.sendDatagram(new Uint8Array(conn.maxDatagramSize + 1))).rejects.toBeInstanceOf(RangeError);
    conn.close({ closeCode: 5, reason: "bye" });
    expect(await withTimeout(conn.closed, 5000, "closed")).toEqual({ closeCode: 5, reason: "bye" });
    await expect(conn.readDatagram()).rejects.toBeDefined();
  });

  test("datagram echo against this library's server on an extra ALPN (pinned); a wrong ALPN fails", async () => {
    await using server = serve({ quicAlpn: ["zig-h3-raw"], quicDatagram: (p, ctx) => ctx.sendReply(p), fetch: () => new Response("x") });
    const conn = await connectQuic({ hostname: "127.0.0.1", port: server.port, alpnProtocols: ["zig-h3-raw"], serverCertificateHashes: hashes(server) });
    for (let i = 0; i < 10; i++) expect(await echo(conn, `ours ${i}`)).toBe(`ours ${i}`);
    conn.close();
    await conn.closed;
    await expect(
      connectQuic({ hostname: "127.0.0.1", port: server.port, alpnProtocols: ["nobody-speaks-this"], serverCertificateHashes: hashes(server) }),
    ).rejects.toBeInstanceOf(TypeError);
  });
});
