/*
 * {{name}}: a wasmpush report generator in C.
 *
 * Build: `WASMPUSH_WIT=/path/to/wasmpush/wit bash build.sh [OUT_DIR]` ->
 * OUT_DIR/{{name}}.wasm. Try it:
 * `wasmpush render --generator {{name}}.wasm --event build-finished --payload build.json`.
 *
 * generator.h comes from `wit-bindgen c` (run by build.sh) for world
 * `generator` of package wasmpush:plugin. Ownership rules of the canonical
 * ABI: `event` belongs to you (free it with generator_event_free when done);
 * every string/list you return must be heap memory (malloc, or
 * generator_string_dup): the bindings free it after the host has copied it.
 *
 * This skeleton reports one line per finished build without parsing the
 * payload; examples/c-summary in the wasmpush repository has a small,
 * bounded JSON reader to pick fields out of it.
 */
#include "generator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void exports_generator_describe(generator_info_t *ret) {
    generator_string_dup(&ret->name, "{{name}}");
    generator_string_dup(&ret->version, "0.1.0");
    generator_string_dup(&ret->description, "{{name}} (C)");
    ret->events.len = 1;
    ret->events.ptr = malloc(sizeof(wasmpush_plugin_types_event_kind_t));
    if (ret->events.ptr == NULL) abort();
    ret->events.ptr[0] = WASMPUSH_PLUGIN_TYPES_EVENT_KIND_BUILD_FINISHED;
    ret->needs.properties = false;
    ret->needs.steps = false;
    ret->needs.logs = false;
    ret->needs.log_contents.tag = WASMPUSH_PLUGIN_TYPES_LOG_CONTENTS_NONE;
    ret->needs.previous_build = false;
}

bool exports_generator_generate(generator_event_t *event, generator_option_report_t *ret,
                                generator_generate_error_t *err) {
    char line[128];
    int n = snprintf(line, sizeof line, "{{name}}: a build finished (%zu bytes of payload)",
                     event->payload.len);
    generator_event_free(event);
    if (n < 0) {
        generator_string_dup(&err->message, "{{name}}: snprintf failed");
        return false;
    }
    generator_string_t msg;
    generator_string_set(&msg, line);
    wasmpush_plugin_host_log(WASMPUSH_PLUGIN_TYPES_LEVEL_DEBUG, &msg);

    ret->is_some = true;
    generator_string_t body;
    generator_string_dup(&body, line);
    ret->val.body.ptr = body.ptr;
    ret->val.body.len = body.len;
    generator_string_dup(&ret->val.content_type, "text/plain; charset=utf-8");
    ret->val.headers.ptr = NULL;
    ret->val.headers.len = 0;
    ret->val.path.is_some = false;
    return true;
}
