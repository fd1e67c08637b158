// Typed helpers for wasmpush contract 0.2 requests (componentize-qjs).
//
// A `request` record has eight fields to fill every time; `Request` builds
// one with sensible defaults:
//
//   Request.post("repos/o/r/statuses/abc").json({ state: "pending" }).supersede("commit/abc").build()
//   Request.patch("messages/{message_id}").json({ text }).fill().build()
//   Request.post("messages").json({ text }).keep("message_id", "/id").build()
//
// `build()` gives the object `generate` returns in its list. WIT -> JS:
// records are objects with camelCase keys, enums strings ("post"), option<T>
// T or undefined, list<u8> a Uint8Array, tuples arrays. No imports: copy this
// file beside any generator built against wit/v0.2 and import it.

/** UTF-8 bytes of a string. */
export function utf8(text) {
    if (typeof TextEncoder !== "undefined") {
        return new TextEncoder().encode(text);
    }
    const out = [];
    for (const ch of text) {
        const c = ch.codePointAt(0);
        if (c < 0x80) out.push(c);
        else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
        else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
        else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return new Uint8Array(out);
}

/** One HTTP request, built by chaining; `build()` makes the WIT record. */
export class Request {
    /** @param {"post"|"put"|"patch"|"delete"} method  @param {string|undefined} path */
    constructor(method, path) {
        this.method = method;
        this.path = path;
        this.headers = [];
        this.contentType = "";
        this.bytes = new Uint8Array(0);
        this.supersedeKey = undefined;
        this.keeps = [];
        this.fills = false;
    }
    static post(path) { return new Request("post", path); }
    static put(path) { return new Request("put", path); }
    static patch(path) { return new Request("patch", path); }
    static delete(path) { return new Request("delete", path); }
    /** A compact JSON body, `application/json`. */
    json(value) { return this.body(utf8(JSON.stringify(value)), "application/json"); }
    text(text) { return this.body(utf8(text), "text/plain; charset=utf-8"); }
    body(bytes, contentType) {
        this.bytes = bytes;
        this.contentType = contentType;
        return this;
    }
    /** An extra header (the host refuses credentials and framing headers). */
    header(name, value) {
        this.headers.push([name, value]);
        return this;
    }
    /** A newer request with the same key replaces this one while it waits. */
    supersede(key) {
        this.supersedeKey = key;
        return this;
    }
    /** Keep the response's value at JSON pointer `pointer` as `{name}`. */
    keep(name, pointer) {
        this.keeps.push({ name, pointer });
        return this;
    }
    /** Have the host replace `{name}` in path and body by kept values. */
    fill() {
        this.fills = true;
        return this;
    }
    build() {
        return {
            method: this.method,
            path: this.path,
            headers: this.headers,
            contentType: this.contentType,
            body: this.bytes,
            supersede: this.supersedeKey,
            keep: this.keeps,
            fill: this.fills,
        };
    }
}
