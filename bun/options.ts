/**
 * Checking `createH3Server` options and turning them into the native
 * configuration struct and options JSON.
 * @module
 */
import { ptr } from "bun:ffi";
import { readFileSync } from "node:fs";
import { cString } from "./ffi";
import type { H3ServeOptions, PemSource } from "./types";

const LOG_LEVELS = { warn: 0, info: 1, debug: 2 } as const;

/** Reads a PEM source synchronously (a BunFile by its path). */
function pemText(src: PemSource, field: string): string {
  if (typeof src === "string") return src;
  if (src instanceof Uint8Array || src instanceof ArrayBuffer) return Buffer.from(src as Uint8Array).toString("utf8");
  if (src && typeof src === "object" && typeof (src as { name?: unknown }).name === "string") {
    return readFileSync((src as { name: string }).name, "utf8");
  }
  throw new TypeError(`${field}: expected PEM text, bytes or Bun.file(path)`);
}

export function checkOptions(options: H3ServeOptions): void {
  if (options === null || typeof options !== "object") throw new TypeError("createH3Server: options must be an object");
  const { port, hostname, maxRequestBodySize, logLevel } = options;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new RangeError(`port: expected an integer 0-65535, got ${port}`);
  }
  if (hostname !== undefined && typeof hostname !== "string") throw new TypeError("hostname: expected a string");
  if (
    maxRequestBodySize !== undefined &&
    (!Number.isSafeInteger(maxRequestBodySize) || maxRequestBodySize < 0)
  ) {
    throw new RangeError(`maxRequestBodySize: expected a non-negative integer, got ${maxRequestBodySize}`);
  }
  if (
    logLevel !== undefined &&
    !(typeof logLevel === "string" && logLevel in LOG_LEVELS) &&
    !(Number.isInteger(logLevel) && (logLevel as number) >= 0 && (logLevel as number) <= 255)
  ) {
    throw new RangeError(`logLevel: expected "warn", "info", "debug" or 0-255, got ${JSON.stringify(logLevel)}`);
  }
  if (options.onLog !== undefined && typeof options.onLog !== "function") throw new TypeError("onLog: expected a function");
  for (const field of ["maxConnections", "maxStreamsPerConnection", "maxHeaderBytes", "maxHeaderFields"] as const) {
    const v = options[field];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw new RangeError(`${field}: expected a positive integer, got ${v}`);
  }
  for (const field of ["requestTimeout", "headerTimeout"] as const) {
    const t = options[field];
    if (t !== undefined && (typeof t !== "number" || !Number.isFinite(t) || t < 0 || t > 4_000_000)) {
      throw new RangeError(`${field}: expected seconds >= 0, got ${t}`);
    }
  }
  if (options.quicDatagram !== undefined && typeof options.quicDatagram !== "function") {
    throw new TypeError("quicDatagram: expected a function");
  }
  if (options.quicAlpn !== undefined && (!Array.isArray(options.quicAlpn) || options.quicAlpn.some((p) => typeof p !== "string" || p === "" || p === "h3"))) {
    throw new TypeError("quicAlpn: expected an array of protocol names other than \"h3\"");
  }
  const wt = options.webtransport;
  if (wt !== undefined && (wt === null || typeof wt !== "object" ||
      (wt.checkOrigin !== undefined && typeof wt.checkOrigin !== "function") ||
      (wt.allowedOrigins !== undefined && (!Array.isArray(wt.allowedOrigins) || wt.allowedOrigins.some((o) => typeof o !== "string"))))) {
    throw new TypeError("webtransport: expected { allowedOrigins?: string[], checkOrigin?: (origin, req) => boolean }");
  }
  if (options.http1 !== undefined && typeof options.http1 !== "boolean") throw new TypeError("http1: expected a boolean");
  const alt = options.altSvc;
  if (alt !== undefined && alt !== false && (typeof alt !== "string" || alt === "" || /[\r\n\0]/.test(alt))) {
    throw new TypeError("altSvc: expected a non-empty field value or false");
  }
  if ((options.certPath === undefined) !== (options.keyPath === undefined)) {
    throw new TypeError("certPath and keyPath must be given together");
  }
  if (options.tls !== undefined && (options.tls === null || typeof options.tls !== "object" || !options.tls.cert || !options.tls.key)) {
    throw new TypeError("tls: expected { cert, key }");
  }
  if (options.tls !== undefined && options.certPath !== undefined) {
    throw new TypeError("give tls or certPath/keyPath, not both");
  }
  checkScaleOptions(options);
}

/** Checks the options of many workers and machines (reusePort and the rest). */
function checkScaleOptions(options: H3ServeOptions): void {
  for (const field of ["reusePort", "zeroRtt"] as const) {
    if (options[field] !== undefined && typeof options[field] !== "boolean") throw new TypeError(`${field}: expected a boolean`);
  }
  const { workerId, workers, clusterSecret, quicLb } = options;
  if (workerId !== undefined && (!Number.isInteger(workerId) || workerId < 0 || workerId > 255)) {
    throw new RangeError(`workerId: expected an integer 0-255, got ${workerId}`);
  }
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1 || workers > 256)) {
    throw new RangeError(`workers: expected an integer 1-256, got ${workers}`);
  }
  if (workers !== undefined && (workerId ?? 0) >= workers) throw new RangeError(`workerId ${workerId ?? 0} is not below workers (${workers})`);
  if (clusterSecret !== undefined && (typeof clusterSecret !== "string" || Buffer.byteLength(clusterSecret) < 16)) {
    throw new TypeError("clusterSecret: expected a string of at least 16 bytes");
  }
  if (quicLb !== undefined && (quicLb === null || typeof quicLb !== "object" || typeof quicLb.serverId !== "string" ||
      !/^(?:[0-9a-fA-F]{2}){1,10}$/.test(quicLb.serverId) ||
      (quicLb.configRotation !== undefined && (!Number.isInteger(quicLb.configRotation) || quicLb.configRotation < 0 || quicLb.configRotation > 6)))) {
    throw new TypeError("quicLb: expected { serverId: 1-10 bytes in hex, configRotation?: 0-6 }");
  }
}

/** Builds the 48-byte zig_h3_server_config; the returned buffers must stay alive during zig_h3_server_new. */
export function nativeConfig(options: H3ServeOptions, hostname: string): { config: Buffer; keep: Buffer[] } {
  const config = Buffer.alloc(48);
  const keep: Buffer[] = [];
  const setString = (offset: number, s: string | undefined) => {
    if (s === undefined) return;
    const c = cString(s);
    keep.push(c);
    config.writeBigUInt64LE(BigInt(ptr(c)), offset);
  };
  setString(0, options.certPath);
  setString(8, options.keyPath);
  setString(16, hostname);
  config.writeUInt16LE(options.port ?? 0, 24);
  setString(32, options.qlogDir);
  const level = options.logLevel ?? "warn";
  config.writeUInt8(typeof level === "string" ? LOG_LEVELS[level] : level, 40);
  return { config, keep };
}

/** JSON for zig_h3_server_set_options. */
export function nativeOptions(options: H3ServeOptions, features: { datagrams: boolean; webtransport: boolean }): string {
  const out: Record<string, unknown> = {
    enableDatagrams: features.datagrams || options.quicDatagram !== undefined,
    enableWebTransport: features.webtransport,
    tcp: options.http1 !== false,
  };
  if (options.altSvc !== undefined) out.altSvc = options.altSvc;
  if (options.quicAlpn !== undefined) out.quicAlpn = options.quicAlpn;
  const wt = options.webtransport;
  // A checkOrigin function runs in JS on each session: the native check lets all through.
  if (wt?.checkOrigin) out.webtransportOrigins = ["*"];
  else if (wt?.allowedOrigins) out.webtransportOrigins = wt.allowedOrigins;
  if (options.tls) {
    out.certPem = pemText(options.tls.cert, "tls.cert");
    out.keyPem = pemText(options.tls.key, "tls.key");
  }
  if (options.maxRequestBodySize !== undefined) out.maxRequestBodySize = options.maxRequestBodySize;
  if (options.requestTimeout !== undefined) out.requestTimeoutMs = Math.round(options.requestTimeout * 1000);
  if (options.headerTimeout !== undefined) out.headerTimeoutMs = Math.round(options.headerTimeout * 1000);
  if (options.maxHeaderFields !== undefined) out.maxHeaderFields = options.maxHeaderFields;
  if (options.maxConnections !== undefined) out.maxConnections = options.maxConnections;
  if (options.maxStreamsPerConnection !== undefined) out.maxStreamsPerConnection = options.maxStreamsPerConnection;
  if (options.maxHeaderBytes !== undefined) out.maxHeaderBytes = options.maxHeaderBytes;
  if (options.reusePort !== undefined) out.reusePort = options.reusePort;
  if (options.workerId !== undefined) out.workerId = options.workerId;
  if (options.workers !== undefined) out.workers = options.workers;
  if (options.clusterSecret !== undefined) out.clusterSecret = options.clusterSecret;
  if (options.zeroRtt !== undefined) out.zeroRtt = options.zeroRtt;
  if (options.quicLb !== undefined) {
    out.quicLbServerId = options.quicLb.serverId;
    out.quicLbConfigRotation = options.quicLb.configRotation ?? 0;
  }
  return JSON.stringify(out);
}

