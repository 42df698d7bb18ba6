/*
 * C smoke test of the CustomerKey ABI (include/customer_key.h), linked against
 * target/release/libcustomer_key.so. Run by tests/c/run.sh, plainly and under valgrind.
 *
 * Usage: smoke [BASE_DIR]   (the store goes in a fresh mkdtemp directory under BASE_DIR,
 *                             default $TMPDIR or /tmp, and is removed at the end)
 *
 * Prints one PASS/FAIL line per check and exits 0 only when every check passed. Every string
 * the library returns is released with ck_free_string, so valgrind can hold the library to
 * "no definite or indirect leaks".
 */
#define _XOPEN_SOURCE 700

#include "customer_key.h"

#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int passed = 0;
static int failed = 0;

static bool check(bool ok, const char *name, const char *detail)
{
    if (ok) {
        passed++;
        printf("PASS %s\n", name);
    } else {
        failed++;
        printf("FAIL %s%s%s\n", name, detail ? ": " : "", detail ? detail : "");
    }
    fflush(stdout);
    return ok;
}

static bool contains(const char *haystack, const char *needle)
{
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

/* ---- base64 (standard alphabet, with padding) ---- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Returns a malloc'd NUL-terminated string. */
static char *b64_encode(const unsigned char *in, size_t len)
{
    size_t out_len = 4 * ((len + 2) / 3);
    char *out = malloc(out_len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = B64[(v >> 18) & 63];
        out[o++] = B64[(v >> 12) & 63];
        out[o++] = i + 1 < len ? B64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? B64[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(B64, c) : NULL;
    return p ? (int)(p - B64) : -1;
}

/* Decodes into a malloc'd buffer; returns NULL on malformed input. */
static unsigned char *b64_decode(const char *in, size_t *out_len)
{
    size_t len = strlen(in);
    if (len % 4 != 0)
        return NULL;
    unsigned char *out = malloc(len / 4 * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++) {
            bool pad_ok = i + 4 == len && k >= 2 && in[i + k] == '=' && (k == 3 || in[i + 3] == '=');
            v[k] = pad_ok ? 0 : b64_value(in[i + k]);
            if (v[k] < 0) {
                free(out);
                return NULL;
            }
        }
        uint32_t n = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[o++] = (unsigned char)(n >> 16);
        if (in[i + 2] != '=')
            out[o++] = (unsigned char)(n >> 8);
        if (in[i + 3] != '=')
            out[o++] = (unsigned char)n;
    }
    *out_len = o;
    return out;
}

/* ---- minimal JSON helpers (enough for the library's compact serde_json output) ---- */

/* The value of the first string member "key" in json, malloc'd; NULL when absent. Only for
 * values without escapes (base64, key ids, algorithm names). */
static char *json_string_member(const char *json, const char *key)
{
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    const char *start = json ? strstr(json, pattern) : NULL;
    if (!start)
        return NULL;
    start += strlen(pattern);
    const char *end = strchr(start, '"');
    if (!end)
        return NULL;
    size_t n = (size_t)(end - start);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    memcpy(out, start, n);
    out[n] = '\0';
    return out;
}

/* Writes s as a JSON string literal (with quotes) into buf. */
static void json_quote(char *buf, size_t size, const char *s)
{
    size_t o = 0;
    buf[o++] = '"';
    for (; *s && o + 8 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(buf + o, size - o, "\\u%04x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
}

static char *format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *out = malloc((size_t)n + 1);
    if (!out)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return out;
}

/* ---- calls ---- */

/* ck_call, reporting the status; *out receives the json (caller frees with ck_free_string). */
static int call(const ck_session *s, const char *op, const char *args, char **out)
{
    *out = NULL;
    return ck_call(s, op, args, out);
}

/* An error call: checks the status, that the envelope came back, and (optionally) that it holds
 * `needle`; frees the envelope. */
static void expect_error(const ck_session *s, const char *name, const char *op, const char *args,
                         int want_status, const char *needle)
{
    char *json = NULL;
    int st = call(s, op, args, &json);
    char detail[512];
    snprintf(detail, sizeof detail, "status %d (want %d), json %.300s", st, want_status,
             json ? json : "(null)");
    check(st == want_status && json != NULL && strncmp(json, "{\"error\":{", 10) == 0 &&
              contains(json, "\"category\":") && contains(json, "\"message\":") &&
              (needle == NULL || contains(json, needle)),
          name, detail);
    ck_free_string(json);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* ---- static things and NULL-safety ---- */
    const char *version = ck_version();
    check(version != NULL && version[0] != '\0', "ck_version returns a non-empty static string",
          version);
    check(ck_version() == version, "ck_version returns the same static pointer", NULL);
    ck_close(NULL);
    ck_free_string(NULL);
    check(true, "ck_close(NULL) and ck_free_string(NULL) are no-ops", NULL);

    char *json = NULL;
    int st = ck_describe(&json);
    check(st == CK_STATUS_OK && contains(json, "\"Operations\"") &&
              contains(json, "\"Invoke-KeyVaultKeyOperation\"") &&
              contains(json, "\"Add-KeyVaultKey\"") && contains(json, "\"Parameters\""),
          "ck_describe lists the operations", NULL);
    ck_free_string(json);
    check(ck_describe(NULL) != CK_STATUS_OK, "ck_describe(NULL) fails without crashing", NULL);

    /* ---- a store in a fresh temp dir ---- */
    const char *base = argc > 1 ? argv[1] : getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    char resolved[PATH_MAX];
    if (realpath(base, resolved) == NULL) {
        check(false, "setup: resolve the base directory", base);
        return 1;
    }
    char *tmpl = format("%s/ck-c-smoke.XXXXXX", resolved);
    if (tmpl == NULL || mkdtemp(tmpl) == NULL) {
        check(false, "setup: mkdtemp", tmpl);
        free(tmpl);
        return 1;
    }
    char *store = format("%s/store", tmpl);
    char quoted[PATH_MAX * 2 + 16];
    json_quote(quoted, sizeof quoted, store);
    char *options = format("{\"Store\":%s,\"UserPrincipalName\":\"admin@contoso.com\"}", quoted);

    /* ck_open failures leave *out_session alone and give an envelope. */
    ck_session *sentinel = (ck_session *)&passed; /* any non-NULL address; never dereferenced */
    ck_session *bad = sentinel;
    json = NULL;
    st = ck_open("{\"Store\":\"relative/dir\"}", &bad, &json);
    check(st == CK_STATUS_INVALID_ARGUMENT && bad == sentinel && contains(json, "\"error\"") &&
              contains(json, "\"Store\""),
          "ck_open with a relative Store is InvalidArgument and leaves out_session untouched", json);
    ck_free_string(json);
    json = NULL;
    st = ck_open("{\"Store\":", &bad, &json);
    check(st == CK_STATUS_INVALID_ARGUMENT && bad == sentinel && contains(json, "options_json"),
          "ck_open with malformed options JSON is InvalidArgument", json);
    ck_free_string(json);
    json = NULL;
    st = ck_open("{\"Bogus\":1}", &bad, &json);
    check(st == CK_STATUS_INVALID_ARGUMENT && bad == sentinel, "ck_open with an unknown option is InvalidArgument", json);
    ck_free_string(json);
    json = NULL;
    st = ck_open("{\"Store\":\"/tmp/\xff\xfe\"}", &bad, &json);
    check(st == CK_STATUS_INVALID_ARGUMENT && bad == sentinel && contains(json, "UTF-8"),
          "ck_open with invalid UTF-8 options is InvalidArgument", json);
    ck_free_string(json);
    json = NULL;
    st = ck_open(options, NULL, &json);
    check(st == CK_STATUS_INVALID_ARGUMENT && contains(json, "out_session"),
          "ck_open with NULL out_session is InvalidArgument", json);
    ck_free_string(json);

    ck_session *s = NULL;
    json = NULL;
    st = ck_open(options, &s, &json);
    char *opened_version = json_string_member(json, "Version");
    if (!check(st == CK_STATUS_OK && s != NULL && contains(json, "\"Store\"") &&
                   contains(json, "admin@contoso.com"),
               "ck_open creates the store", json)) {
        ck_free_string(json);
        free(opened_version);
        free(options);
        free(store);
        free(tmpl);
        printf("%d passed, %d failed\n", passed, failed + 1);
        return 1;
    }
    ck_free_string(json);
    check(opened_version != NULL && strcmp(opened_version, version) == 0,
          "ck_open reports the same Version as ck_version", opened_version);
    free(opened_version);

    /* ---- vault and key ---- */
    st = call(s, "New-KeyVault", "{\"VaultName\":\"vault-a\",\"Location\":\"westeurope\"}", &json);
    check(st == CK_STATUS_OK && contains(json, "vault-a"), "New-KeyVault", json);
    ck_free_string(json);

    st = call(s, "Add-KeyVaultKey", "{\"VaultName\":\"vault-a\",\"Name\":\"key1\",\"Size\":2048}", &json);
    check(st == CK_STATUS_OK && contains(json, "key1"), "Add-KeyVaultKey (RSA 2048)", json);
    ck_free_string(json);

    st = call(s, "Get-KeyVaultKey", "{\"VaultName\":\"vault-a\",\"Name\":\"key1\"}", &json);
    check(st == CK_STATUS_OK && json != NULL && json[0] == '[' && contains(json, "key1"),
          "Get-KeyVaultKey returns an array holding the key", json);
    ck_free_string(json);

    /* ---- wrap / unwrap round trip ---- */
    unsigned char plain[32];
    for (size_t i = 0; i < sizeof plain; i++)
        plain[i] = (unsigned char)(i * 37 + 11); /* includes bytes >= 0x80 */
    char *plain_b64 = b64_encode(plain, sizeof plain);
    size_t rt_len = 0;
    unsigned char *rt = b64_decode(plain_b64, &rt_len);
    check(rt != NULL && rt_len == sizeof plain && memcmp(rt, plain, sizeof plain) == 0,
          "test base64 codec round-trips", plain_b64);
    free(rt);

    char *args = format("{\"VaultName\":\"vault-a\",\"Name\":\"key1\",\"Operation\":\"Wrap\","
                        "\"Algorithm\":\"RSA-OAEP-256\",\"ByteArrayValue\":\"%s\"}",
                        plain_b64);
    st = call(s, "Invoke-KeyVaultKeyOperation", args, &json);
    free(args);
    char *wrapped_b64 = json_string_member(json, "RawResult");
    char *alg = json_string_member(json, "Algorithm");
    char *key_id = json_string_member(json, "KeyId");
    size_t wrapped_len = 0;
    unsigned char *wrapped = wrapped_b64 ? b64_decode(wrapped_b64, &wrapped_len) : NULL;
    check(st == CK_STATUS_OK && wrapped != NULL && wrapped_len == 256,
          "Wrap gives a 256-byte RawResult", json);
    check(alg != NULL && strcmp(alg, "RSA-OAEP-256") == 0, "Wrap reports Algorithm RSA-OAEP-256", alg);
    check(key_id != NULL && contains(key_id, "vault-a") && contains(key_id, "/keys/key1/"),
          "Wrap reports the KeyId of the key version", key_id);
    ck_free_string(json);
    free(alg);
    free(key_id);

    if (wrapped_b64 != NULL) {
        args = format("{\"VaultName\":\"vault-a\",\"Name\":\"key1\",\"Operation\":\"Unwrap\","
                      "\"Algorithm\":\"RSA-OAEP-256\",\"ByteArrayValue\":\"%s\"}",
                      wrapped_b64);
        st = call(s, "Invoke-KeyVaultKeyOperation", args, &json);
        free(args);
        char *unwrapped_b64 = json_string_member(json, "RawResult");
        size_t unwrapped_len = 0;
        unsigned char *unwrapped = unwrapped_b64 ? b64_decode(unwrapped_b64, &unwrapped_len) : NULL;
        check(st == CK_STATUS_OK && unwrapped_b64 != NULL && strcmp(unwrapped_b64, plain_b64) == 0,
              "Unwrap RawResult equals the original base64", json);
        check(unwrapped != NULL && unwrapped_len == sizeof plain &&
                  memcmp(unwrapped, plain, sizeof plain) == 0,
              "Unwrap gives back the original 32 bytes", NULL);
        free(unwrapped);
        free(unwrapped_b64);
        ck_free_string(json);

        /* OAEP is randomized: a second wrap of the same value differs. */
        args = format("{\"VaultName\":\"vault-a\",\"Name\":\"key1\",\"Operation\":\"Wrap\","
                      "\"Algorithm\":\"RSA-OAEP-256\",\"ByteArrayValue\":\"%s\"}",
                      plain_b64);
        st = call(s, "Invoke-KeyVaultKeyOperation", args, &json);
        free(args);
        char *again = json_string_member(json, "RawResult");
        check(st == CK_STATUS_OK && again != NULL && strcmp(again, wrapped_b64) != 0,
              "a second Wrap of the same value gives a different ciphertext", NULL);
        free(again);
        ck_free_string(json);

        /* A damaged ciphertext is an error, not garbage and not a crash. */
        unsigned char *damaged = malloc(wrapped_len);
        if (damaged != NULL) {
            memcpy(damaged, wrapped, wrapped_len);
            damaged[wrapped_len / 2] ^= 0x01;
            char *damaged_b64 = b64_encode(damaged, wrapped_len);
            args = format("{\"VaultName\":\"vault-a\",\"Name\":\"key1\",\"Operation\":\"Unwrap\","
                          "\"Algorithm\":\"RSA-OAEP-256\",\"ByteArrayValue\":\"%s\"}",
                          damaged_b64);
            expect_error(s, "Unwrap of a damaged ciphertext is InvalidArgument",
                         "Invoke-KeyVaultKeyOperation", args, CK_STATUS_INVALID_ARGUMENT,
                         "\"ByteArrayValue\"");
            free(args);
            free(damaged_b64);
            free(damaged);
        }
    }
    free(wrapped);

    /* ---- error envelopes and bad input ---- */
    expect_error(s, "Get-KeyVaultKey of a missing key is NotFound (KeyNotFound, ObjectNotFound)",
                 "Get-KeyVaultKey", "{\"VaultName\":\"vault-a\",\"Name\":\"missing\"}",
                 CK_STATUS_NOT_FOUND, "\"KeyNotFound\"");
    st = call(s, "Get-KeyVaultKey", "{\"VaultName\":\"vault-a\",\"Name\":\"missing\"}", &json);
    check(st == CK_STATUS_NOT_FOUND && contains(json, "\"code\":\"KeyNotFound\"") &&
              contains(json, "\"category\":\"ObjectNotFound\"") &&
              contains(json, "\"target\":\"missing\""),
          "the NotFound envelope carries code, category and target", json);
    ck_free_string(json);

    expect_error(s, "NULL operation is InvalidArgument", NULL, "{}", CK_STATUS_INVALID_ARGUMENT,
                 "\"target\":\"operation\"");
    expect_error(NULL, "NULL session is InvalidArgument", "Get-KeyVault", "{}",
                 CK_STATUS_INVALID_ARGUMENT, "\"target\":\"session\"");
    st = ck_call(s, "Get-KeyVaultKey", "{\"VaultName\":\"vault-a\"}", NULL);
    check(st == CK_STATUS_INVALID_ARGUMENT, "NULL out_json is InvalidArgument without crashing", NULL);
    expect_error(s, "malformed JSON arguments are InvalidArgument", "Get-KeyVaultKey",
                 "{\"VaultName\":", CK_STATUS_INVALID_ARGUMENT, "\"target\":\"arguments_json\"");
    expect_error(s, "non-object JSON arguments are InvalidArgument", "Get-KeyVaultKey", "[1,2]",
                 CK_STATUS_INVALID_ARGUMENT, "\"BadParameter\"");
    expect_error(s, "unknown operation is InvalidArgument", "Frobnicate-KeyVault", "{}",
                 CK_STATUS_INVALID_ARGUMENT, "Frobnicate-KeyVault");
    expect_error(s, "invalid UTF-8 bytes in the arguments are InvalidArgument", "Get-KeyVaultKey",
                 "{\"VaultName\":\"\xff\xfe\xc3\x28\"}", CK_STATUS_INVALID_ARGUMENT, "UTF-8");
    expect_error(s, "invalid UTF-8 bytes in the operation name are InvalidArgument",
                 "Get-\xc0\xafKeyVaultKey", "{}", CK_STATUS_INVALID_ARGUMENT, "UTF-8");
    expect_error(s, "NULL arguments miss the mandatory VaultName", "Get-KeyVaultKey", NULL,
                 CK_STATUS_INVALID_ARGUMENT, "\"target\":\"VaultName\"");
    expect_error(s, "an unknown parameter is InvalidArgument", "Get-KeyVaultKey",
                 "{\"VaultName\":\"vault-a\",\"Nope\":1}", CK_STATUS_INVALID_ARGUMENT, "\"Nope\"");
    expect_error(s, "a non-base64 ByteArrayValue is InvalidArgument", "Invoke-KeyVaultKeyOperation",
                 "{\"VaultName\":\"vault-a\",\"Name\":\"key1\",\"Operation\":\"Wrap\","
                 "\"Algorithm\":\"RSA-OAEP-256\",\"ByteArrayValue\":\"not base64!\"}",
                 CK_STATUS_INVALID_ARGUMENT, "\"ByteArrayValue\"");
    expect_error(s, "a Wrap of the missing key is NotFound", "Invoke-KeyVaultKeyOperation",
                 "{\"VaultName\":\"vault-a\",\"Name\":\"missing\",\"Operation\":\"Wrap\","
                 "\"Algorithm\":\"RSA-OAEP-256\",\"ByteArrayValue\":\"AAAA\"}",
                 CK_STATUS_NOT_FOUND, "\"KeyNotFound\"");

    /* The session still works after all those failures. */
    st = call(s, "Get-KeyVaultKey", "{\"VaultName\":\"vault-a\"}", &json);
    check(st == CK_STATUS_OK && contains(json, "key1"), "the session still works after the errors", json);
    ck_free_string(json);

    ck_close(s);
    s = NULL;

    /* ---- reopen: the key persisted and still unwraps the earlier ciphertext ---- */
    json = NULL;
    st = ck_open(options, &s, NULL);
    if (check(st == CK_STATUS_OK && s != NULL, "ck_open of the existing store (out_json NULL)", NULL) &&
        wrapped_b64 != NULL) {
        args = format("{\"VaultName\":\"vault-a\",\"Name\":\"key1\",\"Operation\":\"Unwrap\","
                      "\"Algorithm\":\"RSA-OAEP-256\",\"ByteArrayValue\":\"%s\"}",
                      wrapped_b64);
        st = call(s, "Invoke-KeyVaultKeyOperation", args, &json);
        free(args);
        char *again = json_string_member(json, "RawResult");
        check(st == CK_STATUS_OK && again != NULL && strcmp(again, plain_b64) == 0,
              "after reopening, Unwrap still gives the original value", json);
        free(again);
        ck_free_string(json);
    }
    ck_close(s);

    free(wrapped_b64);
    free(plain_b64);
    free(options);
    free(store);
    if (nftw(tmpl, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "warning: could not remove %s\n", tmpl);
    free(tmpl);

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
