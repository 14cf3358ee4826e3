/**
 * The Deno test servers (tests/deno.ts) as peers of the repository's Go
 * client (build/dgclient, on the client package): raw QUIC datagrams, and
 * WebTransport datagrams against a server that enables neither
 * RESET_STREAM_AT nor SETTINGS_WT_ENABLED (the patched webtransport-go's
 * fallbacks, third_party/README.md). The bidirectional and unidirectional
 * echoes are checked by the Go tests (client/deno_test.go): dgclient reads
 * streams to their end, and Deno sends no FIN.
 */
import { describe, expect, test } from "bun:test";
import { DENO_QUIC_ALPN, DENO_QUIC_SERVER, DENO_WT_SERVER, startDeno } from "./deno";
import { dgclient } from "./helpers";

describe("Deno peers", () => {
  test("raw QUIC datagrams are echoed by Deno's QUIC endpoint", async () => {
    await using deno = await startDeno(DENO_QUIC_SERVER);
    const r = await dgclient<{ sent: number; matched: number }>(["quic-dgram", "-alpn", DENO_QUIC_ALPN, "-n", "50", "-addr", `127.0.0.1:${deno.port}`]);
    expect(r.sent).toBe(50);
    expect(r.matched).toBeGreaterThanOrEqual(45); // datagrams are unreliable; loopback loses few
  });

  test("WebTransport datagrams are echoed by Deno's WebTransport server", async () => {
    await using deno = await startDeno(DENO_WT_SERVER);
    const r = await dgclient<{ status: number; datagrams: { sent: number; matched: number } }>([
      "wt", "-url", `https://127.0.0.1:${deno.port}/echo`, "-datagrams", "50", "-streams", "0", "-uni", "0", "-interval", "5ms",
    ]);
    expect(r.status).toBe(200);
    expect(r.datagrams.sent).toBe(50);
    expect(r.datagrams.matched).toBeGreaterThanOrEqual(40); // a fresh Deno drops a few of the first ones
  });

  test("stop() kills the server and frees its port", async () => {
    const deno = await startDeno(DENO_QUIC_SERVER);
    expect(deno.port).toBeGreaterThan(0);
    expect(deno.certHashHex).toMatch(/^[0-9a-f]{64}$/);
    await deno.stop();
    // the port can be bound again once the process is gone
    const socket = await Bun.udpSocket({ hostname: "127.0.0.1", port: deno.port });
    socket.close();
  });
});
