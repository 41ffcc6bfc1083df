/*
 * C test of libimagecheck through its header, against the harness registries.
 *
 * Usage: capi_test PLAIN_HOST HELLO_REF HELLO_DIGEST BASIC_HOST BASIC_USER BASIC_PASS BASIC_REF BASIC_DIGEST
 * (bindings-go/test.sh reads them from the harness state.json). Run under valgrind there.
 */
#include "imagecheck.h"
#include "imagecheck.h" /* the header must survive a double include */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int failures = 0;

#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                    \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fprintf(stderr, "\n");                                                             \
            failures++;                                                                        \
        }                                                                                      \
    } while (0)

/* Expect an error of `kind` (and `cause` unless it is -1); frees it. */
static void expect_error(imagecheck_error_t *err, imagecheck_kind kind, int cause, const char *what) {
    if (err == NULL) {
        fprintf(stderr, "FAIL %s: expected an error of kind %u, got success\n", what, (unsigned)kind);
        failures++;
        return;
    }
    const char *message = imagecheck_error_message(err);
    CHECK(imagecheck_error_kind(err) == kind, "%s: kind %u, want %u (%s)", what,
          (unsigned)imagecheck_error_kind(err), (unsigned)kind, message);
    if (cause >= 0) {
        CHECK(imagecheck_error_cause(err) == (imagecheck_cause)cause, "%s: cause %u, want %d (%s)",
              what, (unsigned)imagecheck_error_cause(err), cause, message);
    }
    CHECK(message != NULL && message[0] != '\0', "%s: empty message", what);
    imagecheck_error_free(err);
}

static int expect_ok(imagecheck_error_t *err, const char *what) {
    if (err != NULL) {
        fprintf(stderr, "FAIL %s: unexpected error (kind %u): %s\n", what,
                (unsigned)imagecheck_error_kind(err), imagecheck_error_message(err));
        imagecheck_error_free(err);
        failures++;
        return 0;
    }
    return 1;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- custom engine ---- */

struct engine_state {
    int calls;
    int freed;
};

static void test_engine(void *user_data, const char *reference, const imagecheck_credentials_t *credentials,
                        imagecheck_engine_result_t *result) {
    struct engine_state *state = user_data;
    __atomic_add_fetch(&state->calls, 1, __ATOMIC_SEQ_CST);
    (void)credentials;
    if (strstr(reference, "missing") != NULL) {
        imagecheck_engine_result_set_error(result, IMAGECHECK_CAUSE_NOT_FOUND, "no such image in the test engine");
    } else if (strstr(reference, "garbage") != NULL) {
        imagecheck_engine_result_set_digest(result, "not-a-digest");
    } else if (strstr(reference, "silent") != NULL) {
        /* sets nothing */
    } else {
        imagecheck_engine_result_set_digest(
            result, "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    }
}

static void free_engine_state(void *user_data) {
    struct engine_state *state = user_data;
    state->freed++;
}

/* ---- stalled server: listens, never accepts, never answers ---- */

static int stalled_listener(char *host, size_t host_len) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 16) != 0) {
        perror("stalled listener");
        exit(2);
    }
    socklen_t len = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &len);
    snprintf(host, host_len, "127.0.0.1:%u", (unsigned)ntohs(addr.sin_port));
    return fd;
}

/* ---- mirror options: registries_conf routes through a mirror, a blocked registry is refused ---- */

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}

static void test_mirror_options(const char *plain_host, const char *hello_ref, const char *hello_digest) {
    char dir[] = "/tmp/imagecheck-capi-mirrors.XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
    /* The source listens and never answers: only its mirror (plain) can serve it. */
    char source[64], conf[128], blocking[128], text[512], options[1024], ref[256];
    int listener = stalled_listener(source, sizeof source);
    snprintf(conf, sizeof conf, "%s/mirrored.conf", dir);
    snprintf(text, sizeof text, "[[registry]]\nlocation = \"%s\"\n[[registry.mirror]]\nlocation = \"%s\"\n", source, plain_host);
    write_text(conf, text);
    snprintf(blocking, sizeof blocking, "%s/blocking.conf", dir);
    snprintf(text, sizeof text, "[[registry]]\nlocation = \"%s\"\nblocked = true\n", plain_host);
    write_text(blocking, text);
    snprintf(ref, sizeof ref, "%s/%s", source, strchr(hello_ref, '/') + 1);

    imagecheck_resolver_t *mirrored = NULL;
    char *digest = NULL;
    snprintf(options, sizeof options,
             "{\"from_env\": false, \"insecure_registries\": [\"%s\"], \"request_timeout_ms\": 5000, "
             "\"registries_conf\": \"%s\", \"hosts_dir\": \"%s\", \"max_retries\": 0, "
             "\"max_concurrent_requests_per_host\": 4}",
             plain_host, conf, dir);
    if (expect_ok(imagecheck_resolver_new(options, &mirrored), "resolver with a mirror")) {
        if (expect_ok(imagecheck_resolver_resolve(mirrored, NULL, ref, 0, NULL, NULL, &digest), "resolve through the mirror")) {
            CHECK(strcmp(digest, hello_digest) == 0, "mirrored digest %s, want %s", digest, hello_digest);
            imagecheck_string_free(digest);
        }
        imagecheck_resolver_free(mirrored);
    }
    imagecheck_resolver_t *blocked = NULL;
    snprintf(options, sizeof options, "{\"from_env\": false, \"insecure_registries\": [\"%s\"], \"registries_conf\": \"%s\"}",
             plain_host, blocking);
    if (expect_ok(imagecheck_resolver_new(options, &blocked), "resolver with a blocked registry")) {
        expect_error(imagecheck_resolver_resolve(blocked, NULL, hello_ref, 0, NULL, NULL, &digest),
                     IMAGECHECK_KIND_INVALID_ARGUMENT, 0, "blocked registry");
        imagecheck_resolver_free(blocked);
    }
    close(listener);
    unlink(conf);
    unlink(blocking);
    rmdir(dir);
}

static void *cancel_later(void *token) {
    usleep(300 * 1000);
    imagecheck_cancel_cancel(token);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 9) {
        fprintf(stderr, "usage: %s PLAIN_HOST HELLO_REF HELLO_DIGEST BASIC_HOST BASIC_USER BASIC_PASS BASIC_REF BASIC_DIGEST\n", argv[0]);
        return 2;
    }
    const char *plain_host = argv[1], *hello_ref = argv[2], *hello_digest = argv[3];
    const char *basic_host = argv[4], *basic_user = argv[5], *basic_pass = argv[6];
    const char *basic_ref = argv[7], *basic_digest = argv[8];

    /* version */
    const char *version = imagecheck_version();
    CHECK(version != NULL && strlen(version) >= 5, "version %s", version ? version : "(null)");

    /* reference parsing */
    imagecheck_reference_t *ref = NULL;
    if (expect_ok(imagecheck_reference_parse("nginx:1.27", &ref), "parse nginx")) {
        CHECK(strcmp(imagecheck_reference_canonical(ref), "docker.io/library/nginx:1.27") == 0, "canonical %s",
              imagecheck_reference_canonical(ref));
        CHECK(strcmp(imagecheck_reference_repository(ref), "library/nginx") == 0, "repository");
        CHECK(strcmp(imagecheck_reference_tag(ref), "1.27") == 0, "tag");
        CHECK(imagecheck_reference_digest(ref) == NULL, "digest should be NULL");
        imagecheck_reference_free(ref);
    }
    ref = (imagecheck_reference_t *)0x1;
    expect_error(imagecheck_reference_parse("Not A Reference", &ref), IMAGECHECK_KIND_INVALID_REFERENCE, 0, "parse invalid");
    CHECK(ref == (imagecheck_reference_t *)0x1, "out-pointer written on failure");

    /* the default resolver against the plain registry */
    imagecheck_resolver_t *resolver = NULL;
    if (!expect_ok(imagecheck_resolver_default(&resolver), "default resolver")) return 1;
    for (int round = 0; round < 2; round++) {
        char *digest = NULL;
        if (expect_ok(imagecheck_resolver_resolve(resolver, NULL, hello_ref, 60000, NULL, NULL, &digest), "resolve hello")) {
            CHECK(strcmp(digest, hello_digest) == 0, "digest %s, want %s", digest, hello_digest);
            imagecheck_string_free(digest);
        }
    }
    /* the fast path: a hit from the cache, no NUL needed */
    uint8_t buf[160];
    size_t len = 12345;
    if (expect_ok(imagecheck_resolver_cached(resolver, (const uint8_t *)"registry", 8, (const uint8_t *)hello_ref,
                                             strlen(hello_ref), 60000, NULL, buf, sizeof buf, &len), "cached hit")) {
        CHECK(len == strlen(hello_digest) && memcmp(buf, hello_digest, len) == 0, "cached digest (len %zu)", len);
    }
    len = 12345;
    if (expect_ok(imagecheck_resolver_cached(resolver, NULL, 0, (const uint8_t *)"example.com/nothing:here", 24, 60000,
                                             NULL, buf, sizeof buf, &len), "cached miss")) {
        CHECK(len == 0, "miss should give len 0, got %zu", len);
    }
    expect_error(imagecheck_resolver_cached(resolver, NULL, 0, (const uint8_t *)hello_ref, strlen(hello_ref), 60000,
                                            NULL, buf, 10, &len), IMAGECHECK_KIND_INVALID_ARGUMENT, 0, "cached small buffer");

    /* errors: reference, arguments, UTF-8, unknown engine, kubernetes, auth */
    char *digest = (char *)0x1;
    expect_error(imagecheck_resolver_resolve(resolver, NULL, "Not A Reference", 0, NULL, NULL, &digest),
                 IMAGECHECK_KIND_INVALID_REFERENCE, 0, "invalid reference");
    CHECK(digest == (char *)0x1, "out-pointer written on failure");
    expect_error(imagecheck_resolver_resolve(resolver, NULL, NULL, 0, NULL, NULL, &digest), IMAGECHECK_KIND_INVALID_ARGUMENT, 0, "NULL reference");
    expect_error(imagecheck_resolver_resolve(NULL, NULL, hello_ref, 0, NULL, NULL, &digest), IMAGECHECK_KIND_INVALID_ARGUMENT, 0, "NULL resolver");
    expect_error(imagecheck_resolver_resolve(resolver, NULL, hello_ref, 0, NULL, NULL, NULL), IMAGECHECK_KIND_INVALID_ARGUMENT, 0, "NULL out");
    expect_error(imagecheck_resolver_resolve(resolver, NULL, "nginx:\xff\xfe", 0, NULL, NULL, &digest), IMAGECHECK_KIND_INVALID_ARGUMENT, 0, "not UTF-8");
    expect_error(imagecheck_resolver_resolve(resolver, "no-such-engine", hello_ref, 0, NULL, NULL, &digest), IMAGECHECK_KIND_INVALID_ARGUMENT, 0, "unknown engine");
    expect_error(imagecheck_resolver_resolve(resolver, "kubernetes", hello_ref, 0, NULL, NULL, &digest),
                 IMAGECHECK_KIND_DIGEST_UNAVAILABLE, IMAGECHECK_CAUSE_NO_DIGEST_SOURCE, "kubernetes");
    expect_error(imagecheck_resolver_resolve(resolver, NULL, basic_ref, 0, NULL, NULL, &digest),
                 IMAGECHECK_KIND_DIGEST_UNAVAILABLE, IMAGECHECK_CAUSE_UNAUTHORIZED, "basic anonymous");
    imagecheck_credentials_t creds = {basic_host, basic_user, basic_pass};
    if (expect_ok(imagecheck_resolver_resolve(resolver, NULL, basic_ref, 0, &creds, NULL, &digest), "basic with credentials")) {
        CHECK(strcmp(digest, basic_digest) == 0, "basic digest %s", digest);
        imagecheck_string_free(digest);
    }
    imagecheck_credentials_t wrong = {basic_host, basic_user, "wrong-password"};
    imagecheck_error_t *err = imagecheck_resolver_resolve(resolver, NULL, basic_ref, 0, &wrong, NULL, &digest);
    CHECK(err != NULL && strstr(imagecheck_error_message(err), basic_pass) == NULL, "message must not hold the password");
    expect_error(err, IMAGECHECK_KIND_DIGEST_UNAVAILABLE, IMAGECHECK_CAUSE_UNAUTHORIZED, "basic wrong password");
    imagecheck_resolver_free(resolver);

    test_mirror_options(plain_host, hello_ref, hello_digest);

    /* cancel mid-request against a stalled server, on a private resolver */
    char stalled[64], stalled_ref[128], options[256];
    int listener = stalled_listener(stalled, sizeof stalled);
    snprintf(stalled_ref, sizeof stalled_ref, "%s/stalled/app:v1", stalled);
    snprintf(options, sizeof options, "{\"insecure_registries\": [\"%s\"], \"request_timeout_ms\": 60000}", stalled);
    imagecheck_resolver_t *private = NULL;
    expect_error(imagecheck_resolver_new("{\"no_such_option\": 1}", &private), IMAGECHECK_KIND_INVALID_ARGUMENT, 0, "bad options");
    if (expect_ok(imagecheck_resolver_new(options, &private), "new resolver")) {
        imagecheck_cancel_t *cancel = imagecheck_cancel_new();
        pthread_t thread;
        pthread_create(&thread, NULL, cancel_later, cancel);
        double start = now_seconds();
        expect_error(imagecheck_resolver_resolve(private, NULL, stalled_ref, 0, NULL, cancel, &digest),
                     IMAGECHECK_KIND_CANCELLED, 0, "cancelled resolve");
        double elapsed = now_seconds() - start;
        CHECK(elapsed < 5.0, "cancel took %.2fs", elapsed);
        pthread_join(thread, NULL);
        /* an already cancelled token ends the call before it starts */
        expect_error(imagecheck_resolver_resolve(private, NULL, stalled_ref, 0, NULL, cancel, &digest),
                     IMAGECHECK_KIND_CANCELLED, 0, "pre-cancelled resolve");
        imagecheck_cancel_free(cancel);

        /* custom engine on the private resolver */
        struct engine_state state = {0, 0};
        expect_error(imagecheck_resolver_register_engine(private, "Bad Name", test_engine, &state, free_engine_state),
                     IMAGECHECK_KIND_INVALID_ARGUMENT, 0, "bad engine name");
        CHECK(state.freed == 0, "user data freed on a failed registration");
        expect_error(imagecheck_resolver_register_engine(private, "c-test", NULL, &state, free_engine_state),
                     IMAGECHECK_KIND_INVALID_ARGUMENT, 0, "NULL callback");
        if (expect_ok(imagecheck_resolver_register_engine(private, "c-test", test_engine, &state, free_engine_state), "register")) {
            CHECK(imagecheck_resolver_has_engine(private, "c-test") == 1, "engine not listed");
            if (expect_ok(imagecheck_resolver_resolve(private, "c-test", "example.com/app:1", 60000, &creds, NULL, &digest), "custom engine")) {
                CHECK(strncmp(digest, "sha256:bbbb", 11) == 0, "custom digest %s", digest);
                imagecheck_string_free(digest);
            }
            expect_error(imagecheck_resolver_resolve(private, "c-test", "example.com/missing:1", 0, NULL, NULL, &digest),
                         IMAGECHECK_KIND_DIGEST_UNAVAILABLE, IMAGECHECK_CAUSE_NOT_FOUND, "custom engine not found");
            expect_error(imagecheck_resolver_resolve(private, "c-test", "example.com/garbage:1", 0, NULL, NULL, &digest),
                         IMAGECHECK_KIND_DIGEST_UNAVAILABLE, IMAGECHECK_CAUSE_INVALID_RESPONSE, "custom engine garbage");
            expect_error(imagecheck_resolver_resolve(private, "c-test", "example.com/silent:1", 0, NULL, NULL, &digest),
                         IMAGECHECK_KIND_DIGEST_UNAVAILABLE, IMAGECHECK_CAUSE_ENGINE, "custom engine silent");
            CHECK(state.calls == 4, "callback calls %d", state.calls);
        }
        imagecheck_resolver_free(private);
        CHECK(state.freed == 1, "user data freed %d times after the resolver was freed", state.freed);
    }
    close(listener);

    /* verifier: deny, skip, no match, policy replace */
    char policy[1024];
    snprintf(policy, sizeof policy,
             "rules:\n"
             "  - image: \"%s/test/docker\"\n    deny: true\n"
             "  - image: \"%s/test/hello\"\n    skip: true\n",
             plain_host, plain_host);
    imagecheck_verifier_t *verifier = NULL;
    expect_error(imagecheck_verifier_new("rules: [{image: x, frobnicate: true}]", NULL, NULL, &verifier),
                 IMAGECHECK_KIND_INVALID_POLICY, 0, "invalid policy");
    if (expect_ok(imagecheck_verifier_new(policy, "{\"resolve_ttl_ms\": 0}", NULL, &verifier), "new verifier")) {
        imagecheck_verification_t *v = NULL;
        char docker_ref[256];
        snprintf(docker_ref, sizeof docker_ref, "%s/test/docker:v1", plain_host);
        expect_error(imagecheck_verifier_verify(verifier, docker_ref, NULL, NULL, &v), IMAGECHECK_KIND_DENIED, 0, "deny");
        if (expect_ok(imagecheck_verifier_verify(verifier, hello_ref, NULL, NULL, &v), "skip")) {
            CHECK(!imagecheck_verification_verified(v), "skip is not verified");
            CHECK(strstr(imagecheck_verification_message(v), "skip") != NULL, "message %s", imagecheck_verification_message(v));
            imagecheck_verification_free(v);
        }
        if (expect_ok(imagecheck_verifier_verify(verifier, "example.com/other:1", NULL, NULL, &v), "no match")) {
            CHECK(!imagecheck_verification_verified(v), "no match is not verified");
            CHECK(imagecheck_verification_digested_ref(v) == NULL, "no digested ref for a tag");
            imagecheck_verification_free(v);
        }
        expect_error(imagecheck_verifier_set_policy(verifier, "{not yaml"), IMAGECHECK_KIND_INVALID_POLICY, 0, "bad set_policy");
        expect_ok(imagecheck_verifier_set_policy(verifier, "[]"), "set_policy");
        expect_error(imagecheck_verifier_load_policy(verifier, "/nonexistent/policy.yaml"), IMAGECHECK_KIND_INVALID_POLICY, 0, "load_policy missing");
        if (expect_ok(imagecheck_verifier_verify(verifier, docker_ref, NULL, NULL, &v), "after set_policy")) {
            CHECK(!imagecheck_verification_verified(v), "nothing matches now");
            imagecheck_verification_free(v);
        }
        imagecheck_verifier_free(verifier);
    }
    imagecheck_verifier_t *default_verifier = NULL;
    if (expect_ok(imagecheck_verifier_default(&default_verifier), "default verifier")) {
        imagecheck_verifier_free(default_verifier);
    }

    /* NULL is ignored by every free */
    imagecheck_error_free(NULL);
    imagecheck_string_free(NULL);
    imagecheck_resolver_free(NULL);
    imagecheck_verifier_free(NULL);
    imagecheck_verification_free(NULL);
    imagecheck_reference_free(NULL);
    imagecheck_cancel_free(NULL);

    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("capi_test: all checks passed\n");
    return 0;
}
