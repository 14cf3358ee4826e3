/* A C program as a user of the installed library writes it: zig_h3.h
 * included normally (prototypes, no dlopen), linked with
 * $(pkg-config --cflags --libs zig_h3). It starts a server on an ephemeral
 * port with TCP on, runs the client command given as argv[1] with PORT set
 * in its environment, checks what it printed, then stops and frees the
 * server. tests/install/run.sh builds and runs it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zig_h3.h>

static void hello(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user, (void)req;
    static const char body[] = "hello from C";
    zig_h3_response_respond(resp, 200, NULL, 0, (const uint8_t *)body, sizeof body - 1, 1);
}

static int fail(const char *what) {
    fprintf(stderr, "app: %s: %s\n", what, zig_h3_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: app 'client command (PORT is set)'\n");
        return 2;
    }
    printf("app: %s\n", zig_h3_version());
    zig_h3_server_config cfg = {.bind_addr = "127.0.0.1", .bind_port = 0};
    zig_h3_server *s = zig_h3_server_new(&cfg);
    if (!s) return fail("zig_h3_server_new");
    static const char opts[] = "{\"tcp\": true}";
    if (zig_h3_server_set_options(s, opts, sizeof opts - 1) != ZIG_H3_OK) return fail("set_options");
    if (zig_h3_server_route(s, "GET", "/hello", hello, NULL, NULL, NULL) != ZIG_H3_OK) return fail("route");
    if (zig_h3_server_start(s) != ZIG_H3_OK) return fail("start");
    char port[16];
    snprintf(port, sizeof port, "%d", zig_h3_server_port(s));
    setenv("PORT", port, 1);
    FILE *p = popen(argv[1], "r");
    char out[256] = {0};
    size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    int rc = p ? pclose(p) : -1;
    out[n] = 0;
    printf("app: client exited %d and printed: %s\n", rc, out);
    if (zig_h3_server_stop(s, 0) != ZIG_H3_OK) return fail("stop");
    if (zig_h3_server_free(s) != ZIG_H3_OK) return fail("free");
    if (rc != 0 || strstr(out, "hello from C") == NULL) {
        fprintf(stderr, "app: FAIL: expected \"hello from C\"\n");
        return 1;
    }
    printf("app: ok\n");
    return 0;
}
