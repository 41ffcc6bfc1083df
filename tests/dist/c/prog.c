/*
 * A stranger's C program: built against the packaged prefix (dist/c) with pkg-config, shared
 * and static (tests/dist/run), run under valgrind. Resolve, an error kind, verify with a key
 * policy, against the harness registries; every object the library returns is freed.
 *
 * Usage: prog INSECURE_HOSTS_JSON HELLO_REF HELLO_DIGEST MISSING_REF POLICY_FILE SIGNED_REF WRONGKEY_REF
 */
#include <imagecheck.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

static void fail(const char *what, imagecheck_error_t *err) {
    fprintf(stderr, "FAIL %s: %s\n", what, err ? imagecheck_error_message(err) : "(no error)");
    failures++;
}

/* Expect an error of `kind`; frees it. */
static void expect_kind(imagecheck_error_t *err, imagecheck_kind kind, const char *what) {
    if (err == NULL || imagecheck_error_kind(err) != kind) {
        fail(what, err);
    }
    imagecheck_error_free(err);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    char *text = NULL;
    size_t len = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size >= 0 && fseek(f, 0, SEEK_SET) == 0) {
            len = (size_t)size;
            text = malloc(len + 1);
            if (text != NULL && fread(text, 1, len, f) == len) {
                text[len] = '\0';
            } else {
                free(text);
                text = NULL;
            }
        }
    }
    fclose(f);
    return text;
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: %s INSECURE_HOSTS_JSON HELLO_REF HELLO_DIGEST MISSING_REF POLICY_FILE SIGNED_REF WRONGKEY_REF\n", argv[0]);
        return 2;
    }
    const char *hosts_json = argv[1], *hello = argv[2], *hello_digest = argv[3], *missing = argv[4];
    const char *policy_file = argv[5], *signed_ref = argv[6], *wrongkey = argv[7];
    printf("libimagecheck %s\n", imagecheck_version());

    char options[4096];
    snprintf(options, sizeof options, "{\"insecure_registries\": %s, \"from_env\": false}", hosts_json);
    imagecheck_resolver_t *resolver = NULL;
    imagecheck_error_t *err = imagecheck_resolver_new(options, &resolver);
    if (err != NULL) {
        fail("imagecheck_resolver_new", err);
        imagecheck_error_free(err);
        return 1;
    }

    char *digest = NULL;
    err = imagecheck_resolver_resolve(resolver, NULL, hello, 0, NULL, NULL, &digest);
    if (err != NULL || digest == NULL || strcmp(digest, hello_digest) != 0) {
        fail("resolve", err);
    }
    imagecheck_error_free(err);
    imagecheck_string_free(digest);

    digest = NULL;
    err = imagecheck_resolver_resolve(resolver, NULL, missing, 0, NULL, NULL, &digest);
    if (err != NULL && imagecheck_error_cause(err) != IMAGECHECK_CAUSE_NOT_FOUND) {
        fail("resolve of a missing tag: cause", err);
    }
    expect_kind(err, IMAGECHECK_KIND_DIGEST_UNAVAILABLE, "resolve of a missing tag");
    expect_kind(imagecheck_resolver_resolve(resolver, NULL, "Bad/Reference", 0, NULL, NULL, &digest),
                IMAGECHECK_KIND_INVALID_REFERENCE, "resolve of an invalid reference");

    char *policy = read_file(policy_file);
    if (policy == NULL) {
        fprintf(stderr, "FAIL cannot read %s\n", policy_file);
        imagecheck_resolver_free(resolver);
        return 1;
    }
    imagecheck_verifier_t *verifier = NULL;
    err = imagecheck_verifier_new(policy, NULL, resolver, &verifier);
    free(policy);
    if (err != NULL) {
        fail("imagecheck_verifier_new", err);
        imagecheck_error_free(err);
    } else {
        imagecheck_verification_t *verification = NULL;
        err = imagecheck_verifier_verify(verifier, signed_ref, NULL, NULL, &verification);
        if (err != NULL || !imagecheck_verification_verified(verification)) {
            fail("verify", err);
        } else {
            printf("verified: %s (%s)\n", imagecheck_verification_digested_ref(verification),
                   imagecheck_verification_message(verification));
        }
        imagecheck_error_free(err);
        imagecheck_verification_free(verification);
        verification = NULL;
        expect_kind(imagecheck_verifier_verify(verifier, wrongkey, NULL, NULL, &verification),
                    IMAGECHECK_KIND_VERIFICATION_FAILED, "verify of an image signed with another key");
        imagecheck_verification_free(verification);
        imagecheck_verifier_free(verifier);
    }
    imagecheck_resolver_free(resolver);
    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("stranger (C): resolve, error kinds and verify passed\n");
    return 0;
}
