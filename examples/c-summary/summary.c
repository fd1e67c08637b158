/*
 * c-summary: a compact one-line text summary of every started and finished
 * Buildbot build, in C.
 *
 * Built with clang-19 for wasm32-wasi (reactor), bindings from
 * `wit-bindgen c`, and turned into a component with the WASI preview1
 * reactor adapter (see build.sh and docs/languages/c.md).
 *
 * Events: build-new, build-finished. Needs: nothing extra (no properties).
 *
 * Body (content type `text/plain; charset=utf-8`, no trailing newline):
 *
 *     [<prefix> ]<builder> #<number> <status> <branch> <rev7> <url>
 *
 *   e.g. `pass #3 success main 0123456 http://127.0.0.1:8010/#/builders/4/builds/3`
 *
 *   status: `started` for build-new; for build-finished the Buildbot result
 *   word (success, warnings, failure, skipped, exception, retry, cancelled,
 *   or `unknown`). branch and revision come from the first sourcestamp;
 *   rev7 is the revision's first 7 characters. A missing field is `-`, a
 *   missing number `?`; whitespace and control characters inside a field
 *   become `_`, so the line always has exactly six space-separated fields
 *   (after the prefix). Fields are cut at 200 bytes (the URL at 2000).
 *
 * Settings (all optional):
 *   prefix          text put before the line, followed by a space
 *   only_failures   `true`: no report for build-new nor for finished builds
 *                   whose result is success, warnings or skipped
 *   ntfy            `true`: add the headers ntfy (https://ntfy.sh) reads:
 *                   `Title: <builder> #<number> <status>`, `Tags: <emoji name>`,
 *                   `Priority: high` (failure, exception) or `default`,
 *                   `Click: <url>` (when there is a URL)
 *
 * The payload is scanned by the small JSON reader below: it never reads
 * outside the payload, never recurses, limits nesting to 128 levels and
 * copies at most a fixed number of bytes per field.
 */
#include "generator.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 128
#define FIELD_CAP 201 /* 200 bytes + NUL */
#define URL_CAP 2001

/* ------------------------------------------------------------------------ */
/* A tiny, bounded JSON reader. A span is a value's text [p, end).          */

typedef struct {
    const char *p;
    const char *end;
} span_t;

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* p points at an opening quote; returns the position after the closing
 * quote, or NULL when the string does not end inside [p, end). */
static const char *skip_string(const char *p, const char *end) {
    p++;
    while (p < end) {
        if (*p == '\\') {
            if (end - p < 2) return NULL;
            p += 2;
            continue;
        }
        if (*p == '"') return p + 1;
        p++;
    }
    return NULL;
}

/* Skips one value (after whitespace); returns its end or NULL if malformed. */
static const char *skip_value(const char *p, const char *end) {
    p = skip_ws(p, end);
    if (p >= end) return NULL;
    if (*p == '"') return skip_string(p, end);
    if (*p == '{' || *p == '[') {
        size_t depth = 0;
        while (p < end) {
            char c = *p;
            if (c == '"') {
                p = skip_string(p, end);
                if (p == NULL) return NULL;
                continue;
            }
            if (c == '{' || c == '[') {
                if (++depth > MAX_DEPTH) return NULL;
            } else if (c == '}' || c == ']') {
                if (--depth == 0) return p + 1;
            }
            p++;
        }
        return NULL;
    }
    /* number, true, false, null */
    const char *q = p;
    while (q < end && *q != ',' && *q != '}' && *q != ']' && *q != ' ' && *q != '\t' && *q != '\n' &&
           *q != '\r')
        q++;
    return q > p ? q : NULL;
}

/* The value of `key` in the object `obj`; false when absent or malformed.
 * Keys are compared as raw bytes (the keys looked up have no escapes). */
static bool obj_get(span_t obj, const char *key, span_t *out) {
    const char *p = skip_ws(obj.p, obj.end);
    if (p >= obj.end || *p != '{') return false;
    p++;
    size_t klen = strlen(key);
    for (;;) {
        p = skip_ws(p, obj.end);
        if (p >= obj.end || *p != '"') return false; /* '}' or garbage */
        const char *ks = p + 1;
        const char *ke = skip_string(p, obj.end);
        if (ke == NULL) return false;
        bool match = (size_t)(ke - 1 - ks) == klen && memcmp(ks, key, klen) == 0;
        p = skip_ws(ke, obj.end);
        if (p >= obj.end || *p != ':') return false;
        const char *vs = skip_ws(p + 1, obj.end);
        const char *ve = skip_value(vs, obj.end);
        if (ve == NULL) return false;
        if (match) {
            out->p = vs;
            out->end = ve;
            return true;
        }
        p = skip_ws(ve, obj.end);
        if (p < obj.end && *p == ',') p++;
    }
}

/* The first element of the array `arr`; false when empty or not an array. */
static bool arr_first(span_t arr, span_t *out) {
    const char *p = skip_ws(arr.p, arr.end);
    if (p >= arr.end || *p != '[') return false;
    p = skip_ws(p + 1, arr.end);
    if (p >= arr.end || *p == ']') return false;
    const char *e = skip_value(p, arr.end);
    if (e == NULL) return false;
    out->p = p;
    out->end = e;
    return true;
}

static int hex4(const char *p, const char *end) {
    if (end - p < 4) return -1;
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = (c >= '0' && c <= '9') ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Appends code point cp as UTF-8 if it fits entirely; false when full. */
static bool put_utf8(char *out, size_t cap, size_t *n, uint32_t cp) {
    char tmp[4];
    size_t k;
    if (cp < 0x80) {
        tmp[0] = (char)cp;
        k = 1;
    } else if (cp < 0x800) {
        tmp[0] = (char)(0xc0 | (cp >> 6));
        tmp[1] = (char)(0x80 | (cp & 0x3f));
        k = 2;
    } else if (cp < 0x10000) {
        tmp[0] = (char)(0xe0 | (cp >> 12));
        tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        tmp[2] = (char)(0x80 | (cp & 0x3f));
        k = 3;
    } else {
        tmp[0] = (char)(0xf0 | (cp >> 18));
        tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        tmp[3] = (char)(0x80 | (cp & 0x3f));
        k = 4;
    }
    if (*n + k >= cap) return false; /* keep room for the NUL */
    memcpy(out + *n, tmp, k);
    *n += k;
    return true;
}

/* Decodes the JSON string `v` into out (NUL-terminated, at most cap - 1
 * bytes, cut at a character boundary). False when `v` is not a string or
 * is empty. */
static bool get_string(span_t v, char *out, size_t cap) {
    const char *p = v.p;
    size_t n = 0;
    if (cap == 0) return false;
    out[0] = '\0';
    if (p >= v.end || *p != '"') return false;
    p++;
    while (p < v.end && *p != '"') {
        uint32_t cp;
        if (*p == '\\') {
            if (v.end - p < 2) break;
            char e = p[1];
            p += 2;
            switch (e) {
            case 'n': cp = '\n'; break;
            case 't': cp = '\t'; break;
            case 'r': cp = '\r'; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'u': {
                int h = hex4(p, v.end);
                if (h < 0) { cp = 0xfffd; break; }
                p += 4;
                cp = (uint32_t)h;
                if (h >= 0xd800 && h <= 0xdbff) {
                    int lo = (v.end - p >= 6 && p[0] == '\\' && p[1] == 'u') ? hex4(p + 2, v.end) : -1;
                    if (lo >= 0xdc00 && lo <= 0xdfff) {
                        cp = 0x10000 + (((uint32_t)h - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
                        p += 6;
                    } else {
                        cp = 0xfffd;
                    }
                } else if (h >= 0xdc00 && h <= 0xdfff) {
                    cp = 0xfffd;
                }
                break;
            }
            default: cp = (unsigned char)e; break; /* \" \\ \/ */
            }
            if (!put_utf8(out, cap, &n, cp)) break;
        } else {
            /* raw byte (already UTF-8): copy whole sequences only */
            unsigned char c = (unsigned char)*p;
            size_t k = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
            if ((size_t)(v.end - p) < k || n + k >= cap) break;
            memcpy(out + n, p, k);
            n += k;
            p += k;
        }
    }
    out[n] = '\0';
    return n > 0;
}

/* An integer value (no fraction/exponent, at most 18 digits). */
static bool get_int(span_t v, long long *out) {
    const char *p = v.p;
    bool neg = false;
    long long x = 0;
    int digits = 0;
    if (p < v.end && *p == '-') {
        neg = true;
        p++;
    }
    while (p < v.end && *p >= '0' && *p <= '9') {
        if (++digits > 18) return false;
        x = x * 10 + (*p - '0');
        p++;
    }
    if (digits == 0 || p != v.end) return false;
    *out = neg ? -x : x;
    return true;
}

/* Looks up a path of object keys (NULL-terminated) and decodes a string. */
static bool path_string(span_t root, const char *const *keys, char *out, size_t cap) {
    span_t v = root;
    out[0] = '\0';
    for (; *keys != NULL; keys++)
        if (!obj_get(v, *keys, &v)) return false;
    return get_string(v, out, cap);
}

/* ------------------------------------------------------------------------ */
/* Output helpers.                                                          */

/* A growable byte buffer; `failed` is set when malloc fails. */
typedef struct {
    char *p;
    size_t len;
    size_t cap;
    bool failed;
} buf_t;

static void buf_add(buf_t *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(buf_t *b, const char *s) { buf_add(b, s, strlen(s)); }

/* Appends a field: `-` when empty, whitespace/control bytes as `_`. */
static void buf_field(buf_t *b, const char *s) {
    if (s[0] == '\0') {
        buf_str(b, "-");
        return;
    }
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char r = (c <= 0x20 || c == 0x7f) ? '_' : (char)c;
        buf_add(b, &r, 1);
    }
}

static bool setting_is(const generator_event_t *event, const char *key, const char *want) {
    size_t klen = strlen(key), wlen = strlen(want);
    for (size_t i = 0; i < event->settings.len; i++) {
        const generator_tuple2_string_string_t *kv = &event->settings.ptr[i];
        if (kv->f0.len == klen && memcmp(kv->f0.ptr, key, klen) == 0)
            return kv->f1.len == wlen && memcmp(kv->f1.ptr, want, wlen) == 0;
    }
    return false;
}

/* The setting's value copied into out (NUL-terminated, cut to cap - 1). */
static bool setting_get(const generator_event_t *event, const char *key, char *out, size_t cap) {
    size_t klen = strlen(key);
    for (size_t i = 0; i < event->settings.len; i++) {
        const generator_tuple2_string_string_t *kv = &event->settings.ptr[i];
        if (kv->f0.len == klen && memcmp(kv->f0.ptr, key, klen) == 0) {
            size_t n = kv->f1.len < cap - 1 ? kv->f1.len : cap - 1;
            memcpy(out, kv->f1.ptr, n);
            out[n] = '\0';
            return n > 0;
        }
    }
    return false;
}

static void set_header(generator_tuple2_string_string_t *h, const char *name, const char *value) {
    generator_string_dup(&h->f0, name);
    generator_string_dup(&h->f1, value);
}

/* Header values: control characters would be refused, so they become `_`. */
static void header_safe(char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) *s = '_';
}

static bool fail(generator_generate_error_t *err, const char *message) {
    generator_string_dup(&err->message, message);
    return false;
}

/* ------------------------------------------------------------------------ */
/* The generator.                                                           */

static const char *const RESULT_WORDS[] = {"success", "warnings", "failure", "skipped",
                                           "exception", "retry", "cancelled"};
static const char *const RESULT_TAGS[] = {"white_check_mark", "warning", "x", "fast_forward",
                                          "boom", "repeat", "no_entry_sign"};

void exports_generator_describe(generator_info_t *ret) {
    generator_string_dup(&ret->name, "c-summary");
    generator_string_dup(&ret->version, "0.1.0");
    generator_string_dup(&ret->description, "one-line text summary of started and finished builds (C)");
    ret->events.len = 2;
    ret->events.ptr = malloc(2 * sizeof(wasmpush_plugin_types_event_kind_t));
    if (ret->events.ptr == NULL) abort();
    ret->events.ptr[0] = WASMPUSH_PLUGIN_TYPES_EVENT_KIND_BUILD_NEW;
    ret->events.ptr[1] = WASMPUSH_PLUGIN_TYPES_EVENT_KIND_BUILD_FINISHED;
    ret->needs.properties = false;
    ret->needs.steps = false;
    ret->needs.logs = false;
    ret->needs.log_contents.tag = WASMPUSH_PLUGIN_TYPES_LOG_CONTENTS_NONE;
    ret->needs.previous_build = false;
}

static bool generate(const generator_event_t *event, generator_option_report_t *ret,
                     generator_generate_error_t *err);

/* The export owns `event` (canonical ABI): it is freed once the report has
 * been built from it (nothing in the report points into it). */
bool exports_generator_generate(generator_event_t *event, generator_option_report_t *ret,
                                generator_generate_error_t *err) {
    bool ok = generate(event, ret, err);
    generator_event_free(event);
    return ok;
}

static bool generate(const generator_event_t *event, generator_option_report_t *ret,
                     generator_generate_error_t *err) {
    bool started = event->kind == WASMPUSH_PLUGIN_TYPES_EVENT_KIND_BUILD_NEW;
    if (!started && event->kind != WASMPUSH_PLUGIN_TYPES_EVENT_KIND_BUILD_FINISHED) {
        ret->is_some = false;
        return true;
    }
    span_t build = {(const char *)event->payload.ptr, (const char *)event->payload.ptr + event->payload.len};
    const char *first = skip_ws(build.p, build.end);
    if (first >= build.end || *first != '{')
        return fail(err, "c-summary: payload is not a JSON object (expected a build)");

    long long results = -1, number = -1;
    span_t v;
    bool have_results = obj_get(build, "results", &v) && get_int(v, &results);
    bool have_number = obj_get(build, "number", &v) && get_int(v, &number);
    const char *status = "started";
    int idx = -1;
    if (!started) {
        idx = (have_results && results >= 0 && results <= 6) ? (int)results : -1;
        status = idx >= 0 ? RESULT_WORDS[idx] : "unknown";
    }
    bool quiet = started || idx == 0 || idx == 1 || idx == 3;
    if (quiet && setting_is(event, "only_failures", "true")) {
        ret->is_some = false;
        return true;
    }

    static char builder[FIELD_CAP], branch[FIELD_CAP], revision[FIELD_CAP], url[URL_CAP],
        prefix[FIELD_CAP], num[24];
    static const char *const builder_name[] = {"builder", "name", NULL};
    static const char *const url_key[] = {"url", NULL};
    path_string(build, builder_name, builder, sizeof builder);
    path_string(build, url_key, url, sizeof url);
    branch[0] = revision[0] = '\0';
    span_t stamps, stamp;
    if (obj_get(build, "buildset", &v) && obj_get(v, "sourcestamps", &stamps) && arr_first(stamps, &stamp)) {
        if (obj_get(stamp, "branch", &v)) get_string(v, branch, sizeof branch);
        if (obj_get(stamp, "revision", &v)) get_string(v, revision, sizeof revision);
    }
    if (strlen(revision) > 7) revision[7] = '\0';
    if (have_number)
        snprintf(num, sizeof num, "#%lld", number);
    else
        strcpy(num, "#?");

    buf_t line = {0};
    if (setting_get(event, "prefix", prefix, sizeof prefix)) {
        buf_str(&line, prefix);
        buf_str(&line, " ");
    }
    buf_field(&line, builder);
    buf_str(&line, " ");
    buf_str(&line, num);
    buf_str(&line, " ");
    buf_str(&line, status);
    buf_str(&line, " ");
    buf_field(&line, branch);
    buf_str(&line, " ");
    buf_field(&line, revision);
    buf_str(&line, " ");
    buf_field(&line, url);
    if (line.failed) {
        free(line.p);
        return fail(err, "c-summary: out of memory");
    }

    generator_report_t *report = &ret->val;
    ret->is_some = true;
    report->body.ptr = (uint8_t *)line.p; /* freed by the post-return */
    report->body.len = line.len;
    generator_string_dup(&report->content_type, "text/plain; charset=utf-8");
    report->headers.ptr = NULL;
    report->headers.len = 0;
    report->path.is_some = false;

    if (setting_is(event, "ntfy", "true")) {
        buf_t title = {0};
        buf_field(&title, builder);
        buf_str(&title, " ");
        buf_str(&title, num);
        buf_str(&title, " ");
        buf_str(&title, status);
        size_t n = url[0] ? 4 : 3;
        generator_tuple2_string_string_t *h = calloc(n, sizeof *h);
        if (title.failed || h == NULL) {
            free(title.p);
            free(h);
            generator_option_report_free(ret);
            return fail(err, "c-summary: out of memory");
        }
        header_safe(title.p);
        header_safe(url);
        set_header(&h[0], "Title", title.p);
        set_header(&h[1], "Tags", idx >= 0 ? RESULT_TAGS[idx] : started ? "hourglass_flowing_sand" : "grey_question");
        set_header(&h[2], "Priority", (idx == 2 || idx == 4) ? "high" : "default");
        if (url[0]) set_header(&h[3], "Click", url);
        free(title.p);
        report->headers.ptr = h;
        report->headers.len = n;
    }
    return true;
}
