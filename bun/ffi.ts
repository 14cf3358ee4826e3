/**
 * The native library: locating `libzigh3.so`, its symbols, return codes.
 * Nothing here knows about HTTP; it is the C ABI of `include/zig_h3.h` as
 * seen from `bun:ffi`, whose codes, layouts, limits and signatures come from
 * the generated `abi.gen.ts`. Every function of the header is bound (binding
 * all 54 instead of the 35 used costs ~0.1 ms once).
 * @module
 */
import { dlopen, type Pointer } from "bun:ffi";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Limit, symbols } from "./abi.gen";

/** An opaque native handle (a number, never dereferenced by JS). */
export type Handle = Pointer;

/** Views a handle number from an event as a Handle. */
export function asHandle(n: number): Handle {
  return n as Handle;
}

export { Code, COUNTER_COUNT, Counter, EventLayout, EventType, Limit } from "./abi.gen";

/**
 * Native pending-bytes level at which a writer (response pump, WebTransport
 * stream) pauses until the writable event.
 */
export const HIGH_WATER = Limit.RESPONSE_HIGH_WATER;

/**
 * Most unacknowledged bytes the native side delivers to an incoming stream
 * (request body, WebTransport stream) before waiting for acks.
 */
export const BODY_WINDOW = Limit.BODY_WINDOW;

/** The package's prebuilt library for this platform, e.g. `prebuilds/linux-x64/libzigh3.so`. */
export function prebuiltPath(): string {
  return join(import.meta.dir, "..", "prebuilds", `${process.platform}-${process.arch}`, "libzigh3.so");
}

/** The library built in the repository (absent from the npm package). */
function repositoryBuild(): string {
  return join(import.meta.dir, "..", "build", "libzigh3.so");
}

/**
 * Where the library is looked for: `$ZIG_H3_LIB`, else `build/libzigh3.so` in
 * the repository (so a stray prebuilt copy never shadows the build), else the
 * npm package's prebuilt library for this platform
 * (`prebuilds/<platform>-<arch>/libzigh3.so`).
 */
export function libraryPath(): string {
  if (process.env.ZIG_H3_LIB) return process.env.ZIG_H3_LIB;
  const built = repositoryBuild();
  return existsSync(built) ? built : prebuiltPath();
}

function open() {
  const path = libraryPath();
  if (!existsSync(path)) {
    const where = process.env.ZIG_H3_LIB
      ? `ZIG_H3_LIB names ${path}, which does not exist`
      : `neither ${repositoryBuild()} (in the repository: \`make lib\`) nor ${path} (the npm package's prebuilt ` +
        `library for ${process.platform}-${process.arch}) exists`;
    throw new Error(`zig-h3: native library not found: ${where}. Set ZIG_H3_LIB to a libzigh3.so, or build one.`);
  }
  return dlopen(path, symbols);
}

let lib: ReturnType<typeof open>["symbols"] | undefined;

/** The library's symbols, loaded on first use. */
export function native(): ReturnType<typeof open>["symbols"] {
  return (lib ??= open().symbols);
}

/** The message of the last failing call on this thread. */
export function lastError(): string {
  return String(native().zig_h3_last_error());
}

/** Encodes a string as a NUL-terminated C string. */
export function cString(s: string): Buffer {
  return Buffer.from(s + "\0", "utf8");
}
