/**
 * Preloaded by `bun test` (bunfig.toml): builds what the tests run when it is
 * missing or older than its sources, as the Makefile's rules would, so that
 * `bun test tests/` works on a fresh clone after `npm ci`: build/h3client,
 * build/dgclient and build/clusterclient (unless $H3CLIENT / $DGCLIENT /
 * $CLUSTERCLIENT name others) and
 * build/libzigh3.so (unless $ZIG_H3_LIB names one). Needs Go (on PATH,
 * $GO, or /usr/local/go/bin/go); without it, it fails at once naming the
 * command to run.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");

interface Target {
  out: string;
  args: string[];
  dirs: string[];
  files: string[];
}

const targets: Target[] = [];
if (!process.env.ZIG_H3_LIB) {
  targets.push({
    out: "build/libzigh3.so",
    args: ["-buildmode=c-shared", "-trimpath", "-o", "build/libzigh3.so", "./capi"],
    dirs: ["server", "bridge", "capi", "internal"],
    files: ["include/zig_h3.h", "go.mod", "go.sum"],
  });
}
if (!process.env.H3CLIENT) {
  targets.push({ out: "build/h3client", args: ["-o", "build/h3client", "./tests/h3client"], dirs: ["tests/h3client", "client"], files: ["go.mod", "go.sum"] });
}
if (!process.env.DGCLIENT) {
  targets.push({ out: "build/dgclient", args: ["-o", "build/dgclient", "./tests/dgclient"], dirs: ["tests/dgclient", "client"], files: ["go.mod", "go.sum"] });
}
if (!process.env.CLUSTERCLIENT) {
  targets.push({ out: "build/clusterclient", args: ["-o", "build/clusterclient", "./tests/clusterclient"], dirs: ["tests/clusterclient"], files: ["go.mod", "go.sum"] });
}

/** Newest modification time (ms) of the target's Go, C and header sources. */
function newestSource(t: Target): number {
  let newest = 0;
  const consider = (path: string) => {
    newest = Math.max(newest, statSync(path).mtimeMs);
  };
  for (const dir of t.dirs) {
    for (const name of readdirSync(join(ROOT, dir), { recursive: true }) as string[]) {
      if (/\.(go|c|h)$/.test(name)) consider(join(ROOT, dir, name));
    }
  }
  for (const file of t.files) consider(join(ROOT, file));
  return newest;
}

/** Ends the test run at once (a thrown error would fail every test file with the same message). */
function stop(message: string): never {
  console.error(`tests/preload.ts: ${message}`);
  process.exit(1);
}

function findGo(): string | undefined {
  if (process.env.GO) return Bun.which(process.env.GO) ?? undefined;
  return Bun.which("go") || (existsSync("/usr/local/go/bin/go") ? "/usr/local/go/bin/go" : undefined);
}

for (const t of targets) {
  const out = join(ROOT, t.out);
  if (existsSync(out) && statSync(out).mtimeMs >= newestSource(t)) continue;
  const command = `go build ${t.args.join(" ")}`;
  const go = findGo();
  if (!go) {
    stop(`${t.out} is missing or stale and Go is not installed (not on PATH, $GO or /usr/local/go/bin/go); build it with \`make\` or \`${command}\` in ${ROOT}`);
  }
  console.error(`tests/preload.ts: ${t.out} is missing or stale: ${command}`);
  const r = Bun.spawnSync([go, "build", ...t.args], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0) {
    stop(`\`${command}\` (in ${ROOT}) failed with exit code ${r.exitCode}`);
  }
}
