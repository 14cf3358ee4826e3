/**
 * Headless Chromium as a real HTTP/3 and WebTransport client for the tests.
 *
 * Uses Debian's Chromium (/usr/bin/chromium, package `chromium`) driven by
 * playwright-core; Playwright's own browser download is never used. The
 * launch flags and certificate handling are below.
 */
import { chromium, type Browser, type BrowserContext } from "playwright-core";
import { createHash, createPublicKey, X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withTimeout } from "./helpers";

/** The browser binary; override with CHROMIUM_PATH. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const LAUNCH_TIMEOUT_MS = 20_000;
export const PAGE_LOAD_TIMEOUT_MS = 10_000;
export const EVALUATE_TIMEOUT_MS = 15_000;

/** Throws a clear error when Chromium is missing (the tests fail, they do not skip). */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: install it with ` +
        "`apt-get update && apt-get install -y chromium` (as root; .ci/run does this), " +
        "or point CHROMIUM_PATH at a Chromium binary.",
    );
  }
}


export interface LaunchOptions {
  /** "127.0.0.1:PORT": Chromium speaks HTTP/3 to this origin at once (no Alt-Svc needed). */
  quicOrigin?: string;
  /** base64(sha256(SPKI DER)) of the server's certificate, accepted although self-signed. */
  spkiHash?: string;
  /** More command-line switches (e.g. `--log-net-log=FILE`, `--net-log-capture-mode=Everything`). */
  extraArgs?: string[];
}

export interface LaunchedBrowser {
  browser: Browser;
  /** The command-line switches passed (besides Playwright's own). */
  args: string[];
  close(): Promise<void>;
}

/**
 * Launches headless Chromium with a fresh profile and no background
 * networking. Never passes --disable-quic. Playwright gives every launch a
 * fresh `--user-data-dir` in a temp dir of its own and removes it on close
 * (it refuses the switch in `args`); XDG dirs point into our own temp dir so
 * nothing lands in $HOME.
 */
export async function launchBrowser(opts: LaunchOptions = {}): Promise<LaunchedBrowser> {
  requireChromium();
  const home = mkdtempSync(join(tmpdir(), "h3-chromium-"));
  const args = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ];
  if (opts.quicOrigin) args.push(`--origin-to-force-quic-on=${opts.quicOrigin}`);
  if (opts.spkiHash) args.push(`--ignore-certificate-errors-spki-list=${opts.spkiHash}`);
  args.push(...(opts.extraArgs ?? []));
  let browser: Browser;
  try {
    browser = await withTimeout(
      chromium.launch({
        executablePath: CHROMIUM_PATH,
        headless: true,
        args,
        timeout: LAUNCH_TIMEOUT_MS,
        env: {
          ...process.env,
          XDG_CONFIG_HOME: join(home, "config"),
          XDG_CACHE_HOME: join(home, "cache"),
        },
      }),
      LAUNCH_TIMEOUT_MS + 2_000,
      "launching Chromium",
    );
  } catch (e) {
    rmSync(home, { recursive: true, force: true });
    throw e;
  }
  let closed = false;
  return {
    browser,
    args,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await withTimeout(browser.close(), 10_000, "closing Chromium");
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    },
  };
}

/** base64(sha256(SubjectPublicKeyInfo DER)) of a PEM certificate: the value for --ignore-certificate-errors-spki-list. */
export function spkiHashOfPem(certPem: string): string {
  const spki = createPublicKey(certPem).export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}

/** sha256 of a PEM certificate's DER: the value for WebTransport's serverCertificateHashes. */
export function certHashOfPem(certPem: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(new X509Certificate(certPem).raw).digest());
}

export interface TestCertificate {
  certPem: string;
  keyPem: string;
  /** sha256(cert DER): compare with `server.certificateHash`; pass to serverCertificateHashes. */
  certHashBytes: Uint8Array;
  /** base64(sha256(SPKI DER)): pass to launchBrowser({ spkiHash }). */
  spkiHashBase64: string;
}

/**
 * A self-signed ECDSA P-256 certificate for localhost and 127.0.0.1, made
 * with the openssl command. Valid 10 days: Chromium refuses certificates
 * pinned by hash that are valid more than 14 days.
 */
export function makeTestCertificate(days = 10): TestCertificate {
  if (days > 14) throw new RangeError("Chromium accepts at most 14 days of validity");
  const dir = mkdtempSync(join(tmpdir(), "h3-cert-"));
  try {
    const keyPath = join(dir, "key.pem");
    const certPath = join(dir, "cert.pem");
    const r = Bun.spawnSync(
      [
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", keyPath, "-out", certPath, "-days", String(days), "-subj", "/CN=localhost",
        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    if (!r.success) throw new Error(`openssl failed (${r.exitCode}): ${r.stderr.toString()}`);
    const certPem = readFileSync(certPath, "utf8");
    const keyPem = readFileSync(keyPath, "utf8");
    return { certPem, keyPem, certHashBytes: certHashOfPem(certPem), spkiHashBase64: spkiHashOfPem(certPem) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ServedPage {
  /** http://127.0.0.1:PORT/ */
  url: string;
  /** http://127.0.0.1:PORT */
  origin: string;
  stop(): void;
}

/**
 * Serves `html` over plain HTTP/1.1 on 127.0.0.1 (any path). A loopback page
 * is a secure context, so WebTransport is available there (about:blank has none).
 */
export function servePage(html: string): ServedPage {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } }),
  });
  const origin = `http://127.0.0.1:${server.port}`;
  return { url: `${origin}/`, origin, stop: () => server.stop(true) };
}

/**
 * Opens `pageUrl` in a new page, runs `fn(arg)` in it, returns the result
 * and closes the page. `fn` is serialized into the page: it can use only its
 * argument and the page's globals. Load and evaluation are bounded.
 */
export async function runInPage<A, R>(
  browser: Browser | BrowserContext,
  pageUrl: string,
  fn: (arg: A) => R | Promise<R>,
  arg: A,
  timeouts: { loadMs?: number; evaluateMs?: number } = {},
): Promise<R> {
  const loadMs = timeouts.loadMs ?? PAGE_LOAD_TIMEOUT_MS;
  const evaluateMs = timeouts.evaluateMs ?? EVALUATE_TIMEOUT_MS;
  const page = await withTimeout(browser.newPage(), loadMs, "opening a page");
  try {
    await page.goto(pageUrl, { timeout: loadMs, waitUntil: "load" });
    // Playwright's types want a serializable R; page.evaluate returns it as is.
    return (await withTimeout(
      page.evaluate(fn as (arg: A) => Promise<R>, arg as never),
      evaluateMs,
      `evaluating in ${pageUrl}`,
    )) as R;
  } finally {
    await withTimeout(page.close(), 5_000, "closing the page").catch(() => {});
  }
}
