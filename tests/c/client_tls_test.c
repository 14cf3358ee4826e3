/*
 * client_tls_test.c - certificate checks of the client (verify_peer and
 * zig_h3_client_set_options "ca" and "serverCertificateHashes") against
 * Bun's HTTP/3 server with a self-signed certificate (client_test.c starts
 * it): refused without a root (also with the default configuration),
 * accepted with the certificate as its own "ca" or pinned by its SHA-256,
 * refused again with a wrong server name or a wrong hash.
 */
#include "harness.h"

/* spec with the PEM's newlines escaped as JSON wants. */
static char *ca_spec(const char *pem) {
    size_t n = strlen(pem);
    char *s = malloc(2 * n + 16);
    if (!s) abort();
    char *o = s + sprintf(s, "{\"ca\":\"");
    for (const char *p = pem; *p; p++) {
        if (*p == '\n') *o++ = '\\', *o++ = 'n';
        else if (*p != '\r') *o++ = *p;
    }
    strcpy(o, "\"}");
    return s;
}

/* A client with verify_peer (and spec, unless NULL): connect's result; on
 * success a GET /hello that must answer "hello". */
static int try_connect(const char *what, int p, const char *spec, const char *sni, int defaults) {
    zig_h3_client_config cfg = {.verify_peer = 1, .connect_timeout_ms = 5000};
    zig_h3_client *c = h3.client_new(defaults ? NULL : &cfg);
    CHECK(c != NULL, "%s: client_new: %s", what, h3.last_error());
    if (!c) return -999;
    if (spec) CHECK_RC(h3.client_set_options(c, spec, strlen(spec)), ZIG_H3_OK);
    double t0 = now_ms();
    int rc = h3.client_connect(c, "127.0.0.1", (uint16_t)p, sni);
    printf("%s: connect %d (%s) after %.0f ms%s%s\n", what, rc, h3.strerror(rc), now_ms() - t0, rc ? ": " : "",
           rc ? h3.last_error() : "");
    if (rc == ZIG_H3_OK) {
        fetch_rec *r = fetch_rec_new();
        CHECK_RC(h3.client_fetch_simple(c, "GET", "/hello", 1, 0, 10000, NULL, NULL, on_fetch_done, r, NULL),
                 ZIG_H3_OK);
        CHECK(fetch_wait_cb(r, 10000) && r->cb_status == 200 && r->body_len == 5,
              "%s: GET /hello: status %u, %zu bytes", what, r->cb_status, r->body_len);
        CHECK_RC(h3.client_free(c), ZIG_H3_OK);
        fetch_rec_free(r);
    } else {
        CHECK(h3.last_error()[0] != 0, "%s: connect failed without a message", what);
        CHECK_RC(h3.client_free(c), ZIG_H3_OK);
    }
    return rc;
}

void check_client_tls(int p, const test_cert *cert) {
    int rc = try_connect("verify_peer, no root", p, NULL, NULL, 0);
    CHECK(rc == ZIG_H3_ERR_IO, "self-signed certificate without a root: connect %d, want IO", rc);
    rc = try_connect("default configuration (verifies)", p, NULL, NULL, 1);
    CHECK(rc == ZIG_H3_ERR_IO, "self-signed certificate, client_new(NULL): connect %d, want IO", rc);

    char *spec = ca_spec(cert->pem);
    rc = try_connect("verify_peer, \"ca\": the certificate", p, spec, NULL, 0);
    CHECK(rc == ZIG_H3_OK, "self-signed certificate as its own ca: connect %d", rc);
    rc = try_connect("verify_peer, \"ca\", sni localhost", p, spec, "localhost", 0);
    CHECK(rc == ZIG_H3_OK, "ca, sni localhost (a SAN of the certificate): connect %d", rc);
    rc = try_connect("verify_peer, \"ca\", sni wrong.example", p, spec, "wrong.example", 0);
    CHECK(rc == ZIG_H3_ERR_IO, "ca, sni not in the certificate: connect %d, want IO", rc);
    free(spec);

    char hashes[256];
    snprintf(hashes, sizeof hashes, "{\"serverCertificateHashes\":[\"%s\"]}", cert->hash_hex);
    rc = try_connect("verify_peer, serverCertificateHashes", p, hashes, NULL, 0);
    CHECK(rc == ZIG_H3_OK, "pinned certificate hash: connect %d", rc);
    char wrong[65];
    memcpy(wrong, cert->hash_hex, 65);
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    snprintf(hashes, sizeof hashes, "{\"serverCertificateHashes\":[\"%s\",\"%s\"]}", wrong, cert->hash_hex);
    rc = try_connect("verify_peer, two hashes, the second right", p, hashes, NULL, 0);
    CHECK(rc == ZIG_H3_OK, "pinned certificate hash among two: connect %d", rc);
    snprintf(hashes, sizeof hashes, "{\"serverCertificateHashes\":[\"%s\"]}", wrong);
    rc = try_connect("verify_peer, a wrong hash", p, hashes, NULL, 0);
    CHECK(rc == ZIG_H3_ERR_IO, "wrong certificate hash: connect %d, want IO", rc);
}
