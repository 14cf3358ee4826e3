/*
 * client_support.c - what the client parts of the C ABI test share (see
 * harness.h): notes from library threads, the body pattern, a self-signed
 * certificate made with openssl, Bun's own HTTP/3 server as a peer
 * (tests/fixtures/bun-native-h3.ts, started with posix_spawn and stopped by
 * pid), the record of a callback-mode fetch. Our own server for the client
 * tests is in client_server.c.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ---- Notes from library threads ---------------------------------------------------- */

static pthread_mutex_t note_mu = PTHREAD_MUTEX_INITIALIZER;
static char notes[2048];

void client_note(const char *fmt, ...) {
    pthread_mutex_lock(&note_mu);
    size_t n = strlen(notes);
    if (n + 1 < sizeof notes) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(notes + n, sizeof notes - n, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&note_mu);
}

void client_check_notes(const char *what) {
    pthread_mutex_lock(&note_mu);
    CHECK(notes[0] == 0, "%s:%s", what, notes);
    notes[0] = 0;
    pthread_mutex_unlock(&note_mu);
}

/* ---- The body pattern --------------------------------------------------------------- */

void fill_pattern(uint8_t *buf, size_t n, size_t off) {
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)PATTERN[(off + i) % PATTERN_LEN];
}

long pattern_mismatch(const uint8_t *buf, size_t n, size_t off) {
    for (size_t i = 0; i < n; i++)
        if (buf[i] != (uint8_t)PATTERN[(off + i) % PATTERN_LEN]) return (long)i;
    return -1;
}

/* ---- A self-signed certificate ------------------------------------------------------ */

int make_test_cert(test_cert *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->dir, sizeof c->dir, "/tmp/zig-h3-ctest-XXXXXX");
    if (!mkdtemp(c->dir)) {
        CHECK(0, "mkdtemp: %s", strerror(errno));
        return -1;
    }
    snprintf(c->cert, sizeof c->cert, "%s/cert.pem", c->dir);
    snprintf(c->key, sizeof c->key, "%s/key.pem", c->dir);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout '%s' -out '%s' "
             "-days 10 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>&1 && "
             "openssl x509 -in '%s' -outform DER | openssl dgst -sha256 -r",
             c->key, c->cert, c->cert);
    client_result r = run_command(cmd);
    /* The digest is the last line: 64 hex digits, then " *stdin". */
    const char *hex = r.out;
    for (const char *p = r.out; (p = strchr(p, '\n')) && p[1]; p++) hex = p + 1;
    if (r.exit_code == 0 && strspn(hex, "0123456789abcdef") == 64) memcpy(c->hash_hex, hex, 64);
    CHECK(c->hash_hex[0], "openssl: exit %d: %s", r.exit_code, r.out);
    free_result(&r);
    FILE *f = fopen(c->cert, "r");
    size_t n = 0;
    c->pem = f ? read_all(f, &n) : NULL;
    if (f) fclose(f);
    CHECK(c->pem && strstr(c->pem, "BEGIN CERTIFICATE"), "certificate %s not readable", c->cert);
    return c->hash_hex[0] && c->pem ? 0 : -1;
}

void remove_test_cert(test_cert *c) {
    if (c->cert[0]) unlink(c->cert);
    if (c->key[0]) unlink(c->key);
    if (c->dir[0]) rmdir(c->dir);
    free(c->pem);
    c->pem = NULL;
}

/* ---- Bun's own HTTP/3 server -------------------------------------------------------- */

int bun_peer_start(bun_peer *p, const test_cert *c) {
    memset(p, 0, sizeof *p);
    p->pid = -1, p->stdin_fd = -1;
    const char *bun = getenv("BUN");
    if (!bun || !bun[0]) bun = "node_modules/.bin/bun";
    if (access(bun, X_OK) != 0) {
        CHECK(0, "bun not found at %s (set $BUN)", bun);
        return -1;
    }
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
        CHECK(0, "pipe: %s", strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    char *argv[] = {(char *)bun, "tests/fixtures/bun-native-h3.ts", (char *)c->cert, (char *)c->key, NULL};
    int rc = posix_spawn(&p->pid, bun, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]), close(out[1]);
    p->stdin_fd = in[1];
    if (rc != 0) {
        CHECK(0, "posix_spawn %s: %s", bun, strerror(rc));
        p->pid = -1;
        close(out[0]);
        return -1;
    }
    /* One line, {"port":N}, within 15 s (Bun compiles the fixture first). */
    char line[256] = "";
    size_t n = 0;
    double t0 = now_ms();
    while (n + 1 < sizeof line && !strchr(line, '\n') && now_ms() - t0 < 15000) {
        struct pollfd pf = {.fd = out[0], .events = POLLIN};
        if (poll(&pf, 1, 100) <= 0) continue;
        ssize_t k = read(out[0], line + n, sizeof line - 1 - n);
        if (k <= 0) break;
        line[n += (size_t)k] = 0;
    }
    close(out[0]);
    long port_n = json_int(line, "port", 0);
    p->port = port_n > 0 && port_n < 65536 ? (int)port_n : 0;
    CHECK(p->port > 0, "Bun's HTTP/3 server did not print its port (%.0f ms): [%s]", now_ms() - t0, line);
    if (!p->port) {
        bun_peer_stop(p);
        return -1;
    }
    printf("Bun's HTTP/3 server (pid %d) on 127.0.0.1:%d\n", (int)p->pid, p->port);
    return 0;
}

void bun_peer_stop(bun_peer *p) {
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        int st, done = 0;
        for (double t0 = now_ms(); !done && now_ms() - t0 < 3000; sleep_ms(10))
            done = waitpid(p->pid, &st, WNOHANG) == p->pid;
        if (!done) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &st, 0);
        }
        p->pid = -1;
    }
    if (p->stdin_fd >= 0) close(p->stdin_fd);
    p->stdin_fd = -1;
}

/* ---- Callback-mode fetches ---------------------------------------------------------- */

fetch_rec *fetch_rec_new(void) {
    fetch_rec *r = calloc(1, sizeof *r);
    if (!r) abort();
    pthread_mutex_init(&r->mu, NULL);
    r->data_mismatch = -1;
    return r;
}

void fetch_rec_free(fetch_rec *r) {
    if (!r) return;
    free(r->body);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static void order(fetch_rec *r, const char *what) {
    if (!r->order_bad++) snprintf(r->order_note, sizeof r->order_note, "%s (event %d)", what, r->events);
}

void on_fetch_event(void *user, const zig_h3_fetch_event *e) {
    fetch_rec *r = user;
    int pause = 0;
    pthread_mutex_lock(&r->mu);
    r->events++;
    if (r->finished) order(r, "an event after FINISHED");
    if (e->type != ZIG_H3_FETCH_EVENT_STARTED && !r->started) order(r, "an event before STARTED");
    if (r->started && e->stream_id != r->stream_id) order(r, "stream_id changed");
    switch (e->type) {
    case ZIG_H3_FETCH_EVENT_STARTED:
        if (r->started++) order(r, "STARTED twice");
        r->stream_id = e->stream_id;
        break;
    case ZIG_H3_FETCH_EVENT_HEADERS:
        if (r->headers++) order(r, "HEADERS twice");
        r->head_status = e->status;
        if (e->headers_len && !e->headers) order(r, "HEADERS with headers NULL");
        break;
    case ZIG_H3_FETCH_EVENT_DATA:
        if (!r->headers || r->trailers) order(r, "DATA outside the body");
        if (r->check_pattern && r->data_mismatch < 0) {
            long m = pattern_mismatch(e->data, e->data_len, r->data_len);
            if (m >= 0) r->data_mismatch = (long)r->data_len + m;
        }
        pause = !r->data_events++ ? r->pause_first_data_ms : 0;
        r->data_len += e->data_len;
        break;
    case ZIG_H3_FETCH_EVENT_TRAILERS:
        if (!r->headers || r->trailers++) order(r, "TRAILERS out of place");
        break;
    case ZIG_H3_FETCH_EVENT_FINISHED:
        r->finish_status = e->status;
        if (e->status == 0) snprintf(r->message, sizeof r->message, "%.*s", (int)e->data_len, (const char *)e->data);
        INC(r->finished); /* last: fetch_wait reads it without the lock */
        break;
    case ZIG_H3_FETCH_EVENT_DATAGRAM:
        r->datagrams++;
        if (e->flow_id != r->stream_id / 4) order(r, "DATAGRAM of another flow");
        break;
    case ZIG_H3_FETCH_EVENT_WRITABLE:
        r->writable++;
        break;
    default:
        order(r, "unknown event type");
    }
    pthread_mutex_unlock(&r->mu);
    if (pause) sleep_ms(pause);
}

void on_fetch_done(void *user, uint16_t status, const zig_h3_header *headers, size_t headers_len,
                   const uint8_t *body, size_t body_len, const zig_h3_header *trailers, size_t trailers_len) {
    fetch_rec *r = user;
    pthread_mutex_lock(&r->mu);
    if (r->cb_calls) order(r, "fetch_cb twice");
    r->cb_status = status;
    r->cb_headers = headers_len;
    r->cb_trailers = trailers_len;
    r->cb_body_null = body == NULL;
    if (headers_len && !headers) order(r, "fetch_cb headers NULL");
    r->cb_head[0] = 0;
    for (size_t i = 0; headers && i < headers_len; i++)
        add_note(r->cb_head, sizeof r->cb_head, "%.*s: %.*s; ", (int)headers[i].name_len, headers[i].name,
                 (int)headers[i].value_len, headers[i].value);
    free(r->body);
    r->body = malloc(body_len + 1);
    if (r->body && body_len && body) memcpy(r->body, body, body_len);
    r->body_len = body ? body_len : 0;
    if (trailers_len && trailers)
        snprintf(r->trailer, sizeof r->trailer, "%.*s: %.*s", (int)trailers[0].name_len, trailers[0].name,
                 (int)trailers[0].value_len, trailers[0].value);
    INC(r->cb_calls); /* last: fetch_wait reads it without the lock */
    pthread_mutex_unlock(&r->mu);
}

int fetch_wait_cb(fetch_rec *r, int ms) {
    int done = WAIT_FOR(LOAD(r->cb_calls), ms);
    pthread_mutex_lock(&r->mu);
    pthread_mutex_unlock(&r->mu);
    return done;
}

int fetch_wait(fetch_rec *r, int want_cb, int ms) {
    int done = WAIT_FOR(LOAD(r->finished) && (!want_cb || LOAD(r->cb_calls)), ms);
    pthread_mutex_lock(&r->mu); /* the callback that set the flag has returned its lock */
    pthread_mutex_unlock(&r->mu);
    return done;
}

zig_h3_client *connect_client(const char *what, int p, uint8_t dgram, uint8_t wt) {
    zig_h3_client_config cfg = {.enable_dgram = dgram, .enable_webtransport = wt, .connect_timeout_ms = 5000,
                                .request_timeout_ms = 15000};
    zig_h3_client *c = h3.client_new(&cfg);
    CHECK(c != NULL, "%s: client_new: %s", what, h3.last_error());
    if (!c) return NULL;
    int rc = h3.client_connect(c, "127.0.0.1", (uint16_t)p, NULL);
    CHECK(rc == ZIG_H3_OK, "%s: connect to 127.0.0.1:%d: %d %s", what, p, rc, h3.last_error());
    if (rc != ZIG_H3_OK) {
        h3.client_free(c);
        return NULL;
    }
    return c;
}
