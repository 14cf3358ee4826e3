/*
 * harness.c - the shared machinery of the C ABI test (see harness.h): loading
 * libzigh3.so with dlopen, the check counters, the watchdog, running the Go
 * HTTP/3 client and reading its output, helpers for request callbacks.
 */
#include "harness.h"

#include <dlfcn.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct zig_h3_functions h3;
int checks, failures;
const char *client_path;
const char *dgclient_path;
int port;
int requests_made;

double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "FAIL watchdog: the test took over 90 s\n";
    ssize_t n = write(1, msg, sizeof msg - 1);
    (void)n;
    _exit(1);
}

int harness_init(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, on_alarm);
    alarm(90);
    const char *lib_path = argc > 1 ? argv[1] : getenv("ZIG_H3_LIB");
    if (!lib_path || !lib_path[0]) lib_path = "build/libzigh3.so";
    client_path = getenv("H3CLIENT");
    if (!client_path || !client_path[0]) client_path = "build/h3client";
    if (access(client_path, X_OK) != 0) {
        printf("FAIL: client %s is not executable (build it: go build -o build/h3client ./tests/h3client)\n",
               client_path);
        return 1;
    }
    dgclient_path = getenv("DGCLIENT");
    if (!dgclient_path || !dgclient_path[0]) dgclient_path = "build/dgclient";
    if (access(dgclient_path, X_OK) != 0) {
        printf("FAIL: client %s is not executable (build it: go build -o build/dgclient ./tests/dgclient)\n",
               dgclient_path);
        return 1;
    }

    void *lib = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        printf("FAIL: dlopen %s: %s\n", lib_path, dlerror());
        return 1;
    }
    int missing = 0;
#define DLSYM(name)                                                                      \
    if (!(h3.name = (__typeof__(&zig_h3_##name))dlsym(lib, "zig_h3_" #name))) {          \
        printf("FAIL: dlsym zig_h3_" #name ": %s\n", dlerror());                         \
        missing++;                                                                       \
    }
    ZIG_H3_FUNCTIONS(DLSYM)
#undef DLSYM
    if (missing) return 1;
    printf("loaded %s\n", lib_path);
    return 0;
}

/* ---- Running the Go client --------------------------------------------------- */

char *read_all(FILE *f, size_t *len) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (size_t r; buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += r;
        if (cap - n < 2) buf = realloc(buf, cap *= 2);
    }
    if (!buf) abort();
    buf[n] = 0;
    *len = n;
    return buf;
}

void free_result(client_result *r) { free(r->out); }

client_result run_command(const char *cmd) {
    client_result r = {0};
    FILE *f = popen(cmd, "r");
    if (!f) {
        r.out = strdup("");
        r.exit_code = -1;
        return r;
    }
    r.out = read_all(f, &r.len);
    int st = pclose(f);
    r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

/* Runs the client with the given arguments (a shell fragment) for count requests. */
client_result client(int count, const char *fmt, ...) {
    char args[1024], cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' -timeout 15s %s", client_path, args);
    requests_made += count;
    return run_command(cmd);
}

/* Runs dgclient with the given arguments (a shell fragment), subcommand first. */
client_result dgclient(const char *fmt, ...) {
    char args[1024], cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    /* timeout(1) as well: -timeout does not bound every wait (a response head
     * that never comes waits for the QUIC idle timeout, 30 s). */
    snprintf(cmd, sizeof cmd, "timeout -k 2 15 '%s' %s -timeout 10s", dgclient_path, args);
    return run_command(cmd);
}

static const char *json_after(const char *json, const char *key, int nth) {
    char pat[80];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = json;
    for (int i = 0; p && i <= nth; i++)
        if ((p = strstr(p, pat))) p += strlen(pat);
    return p;
}

long json_int(const char *json, const char *key, int nth) {
    const char *p = json_after(json, key, nth);
    char *end;
    long v = p ? strtol(p, &end, 10) : 0;
    return p && end != p ? v : -999999;
}

void json_str(const char *json, const char *key, char *out, size_t cap) {
    const char *p = json_after(json, key, 0);
    size_t n = 0;
    if (p && *p == '"')
        for (p++; *p && *p != '"' && n + 1 < cap; p++) out[n++] = *p;
    out[n] = 0;
}

int status_of(const char *out) {
    int s = -1;
    if (sscanf(out, "HTTP/3 %d", &s) != 1) return -1;
    return s;
}

/* The body (and trailer lines) after the blank line ending the head. */
const char *body_of(const char *out) {
    const char *p = strstr(out, "\n\n");
    return p ? p + 2 : "";
}

/* Number of head lines equal to line. */
int header_count(const char *out, const char *line) {
    const char *end = strstr(out, "\n\n");
    size_t n = strlen(line);
    int count = 0;
    for (const char *p = strchr(out, '\n'); p && end && p < end; p = strchr(p + 1, '\n'))
        if ((size_t)(end - p) > n && strncmp(p + 1, line, n) == 0 && p[1 + n] == '\n') count++;
    return count;
}

int has_header(const char *out, const char *line) { return header_count(out, line) > 0; }

/* ---- Helpers for request callbacks ------------------------------------------- */

void add_note(char *buf, size_t cap, const char *fmt, ...) {
    size_t n = strlen(buf);
    if (n + 1 >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

int field_is(const char *p, size_t n, const char *want) {
    return p && n == strlen(want) && memcmp(p, want, n) == 0;
}

const zig_h3_header *find_header(const zig_h3_request *req, const char *name) {
    for (size_t i = 0; i < req->headers_len; i++)
        if (field_is(req->headers[i].name, req->headers[i].name_len, name)) return &req->headers[i];
    return NULL;
}

zig_h3_server *new_local_server(const char *what, uint8_t dgram, uint8_t wt) {
    zig_h3_server_config cfg = {.bind_addr = "127.0.0.1", .enable_dgram = dgram, .enable_webtransport = wt};
    zig_h3_server *s = h3.server_new(&cfg);
    CHECK(s != NULL, "%s server_new: %s", what, h3.last_error());
    return s;
}
